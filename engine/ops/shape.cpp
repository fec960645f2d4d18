// Shape ops: views (reshape of contiguous data, permute, narrow, chunk) and copies (cat, flip,
// index_select), each with its gradient.
#include <numeric>

#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::wrap_dim;

Tensor reshape(const Tensor& a, Shape shape) {
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      PTL_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      PTL_CHECK(shape[i] >= 0, "reshape: negative size in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    PTL_CHECK(known > 0 && a.numel() % known == 0, "reshape: cannot reshape ", a.shape_str(), " (",
              a.numel(), " elements) into ", shape_str(shape));
    shape[infer] = a.numel() / known;
  }
  PTL_CHECK(shape_numel(shape) == a.numel(), "reshape: cannot reshape ", a.shape_str(), " (",
            a.numel(), " elements) into ", shape_str(shape));
  Tensor src = a.contiguous();
  Tensor out = make_view(src, shape, contiguous_strides(shape), src.offset());
  if (TraceRecorder* r = active_trace()) r->record({"reshape", {a}, {out}, {}});
  return record(out, "reshape", {a},
                [in = a.shape()](const Tensor& g, const std::vector<bool>&) -> Grads {
                  return {reshape(g, in)};
                });
}

Tensor flatten(const Tensor& a, int64_t start, int64_t end) {
  if (a.dim() == 0) return reshape(a, {1});
  start = wrap_dim(start, a.dim(), "flatten");
  end = wrap_dim(end, a.dim(), "flatten");
  PTL_CHECK(start <= end, "flatten: start_dim ", start, " is after end_dim ", end);
  Shape s(a.shape().begin(), a.shape().begin() + start);
  int64_t n = 1;
  for (int64_t i = start; i <= end; ++i) n *= a.shape()[i];
  s.push_back(n);
  s.insert(s.end(), a.shape().begin() + end + 1, a.shape().end());
  return reshape(a, s);
}

Tensor squeeze(const Tensor& a, int64_t dim) {
  dim = wrap_dim(dim, a.dim(), "squeeze");
  if (a.shape()[dim] != 1) return a;
  Shape s = a.shape();
  s.erase(s.begin() + dim);
  return reshape(a, s);
}

Tensor unsqueeze(const Tensor& a, int64_t dim) {
  dim = wrap_dim(dim, a.dim() + 1, "unsqueeze");
  Shape s = a.shape();
  s.insert(s.begin() + dim, 1);
  return reshape(a, s);
}

Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  PTL_CHECK(static_cast<int64_t>(dims.size()) == a.dim(), "permute: ", dims.size(),
            " dimensions given for a ", a.dim(), "-d tensor ", a.shape_str());
  Shape shape(a.dim()), strides(a.dim());
  std::vector<int64_t> inverse(a.dim(), -1);
  for (int64_t i = 0; i < a.dim(); ++i) {
    int64_t d = wrap_dim(dims[i], a.dim(), "permute");
    PTL_CHECK(inverse[d] < 0, "permute: dimension ", d, " repeated");
    inverse[d] = i;
    shape[i] = a.shape()[d];
    strides[i] = a.strides()[d];
  }
  Tensor out = make_view(a, shape, strides, a.offset());
  if (TraceRecorder* r = active_trace())
    r->record({"permute", {a}, {out}, {{"dims", std::vector<double>(dims.begin(), dims.end())}}});
  return record(out, "permute", {a}, [inverse](const Tensor& g, const std::vector<bool>&) -> Grads {
    return {permute(g, inverse)};
  });
}

Tensor transpose(const Tensor& a, int64_t d0, int64_t d1) {
  std::vector<int64_t> p(a.dim());
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[wrap_dim(d0, a.dim(), "transpose")], p[wrap_dim(d1, a.dim(), "transpose")]);
  return permute(a, p);
}

Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  dim = wrap_dim(dim, a.dim(), "narrow");
  PTL_CHECK(start >= 0 && length >= 0 && start + length <= a.shape()[dim], "narrow: [", start, ", ",
            start + length, ") is outside dimension ", dim, " of ", a.shape_str());
  Shape shape = a.shape();
  shape[dim] = length;
  Tensor out = make_view(a, shape, a.strides(), a.offset() + start * a.strides()[dim]);
  if (TraceRecorder* r = active_trace())
    r->record({"narrow",
               {a},
               {out},
               {{"dim", {double(dim)}}, {"start", {double(start)}}, {"length", {double(length)}}}});
  return record(
      out, "narrow", {a},
      [in = a.shape(), dim, start, length](const Tensor& g, const std::vector<bool>&) -> Grads {
        Tensor gx = zeros(in, g.dtype(), g.device());
        Tensor slot = narrow(gx, dim, start, length);
        copy_(slot, g);
        return {gx};
      });
}

std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  dim = wrap_dim(dim, a.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  PTL_CHECK(total == a.shape()[dim], "split: sizes add up to ", total, " but dimension ", dim,
            " of ", a.shape_str(), " has ", a.shape()[dim]);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(a, dim, start, s));
    start += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  PTL_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  dim = wrap_dim(dim, a.dim(), "chunk");
  // As torch.chunk: chunks of ceil(n / chunks), the last one smaller (possibly fewer chunks).
  const int64_t n = a.shape()[dim], step = (n + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < n; s += step) sizes.push_back(std::min(step, n - s));
  if (sizes.empty()) sizes.push_back(0);
  return split(a, sizes, dim);
}

Tensor cat(const std::vector<Tensor>& parts, int64_t dim) {
  PTL_CHECK(!parts.empty(), "cat: no tensors given");
  const Tensor& first = parts[0];
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[dim] = 0;
  for (const Tensor& p : parts) {
    PTL_CHECK(p.dim() == first.dim() && p.dtype() == first.dtype() && p.device() == first.device(),
              "cat: tensor ", p.shape_str(), " (", dtype_name(p.dtype()), ") does not match ",
              first.shape_str(), " (", dtype_name(first.dtype()), ")");
    for (int64_t i = 0; i < first.dim(); ++i)
      PTL_CHECK(i == dim || p.shape()[i] == first.shape()[i], "cat: along dimension ", dim,
                ", shapes ", first.shape_str(), " and ", p.shape_str(), " differ in dimension ", i);
    shape[dim] += p.shape()[dim];
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  std::vector<int64_t> sizes;
  int64_t start = 0;
  for (const Tensor& p : parts) {
    Tensor slot =
        make_view(out, p.shape(), out.strides(), out.offset() + start * out.strides()[dim]);
    copy_(slot, p);
    sizes.push_back(p.shape()[dim]);
    start += p.shape()[dim];
  }
  if (TraceRecorder* r = active_trace()) r->record({"cat", parts, {out}, {{"dim", {double(dim)}}}});
  return record(out, "cat", parts,
                [sizes, dim](const Tensor& g, const std::vector<bool>& need) -> Grads {
                  std::vector<Tensor> pieces = split(g, sizes, dim);
                  Grads r(sizes.size());
                  for (size_t i = 0; i < sizes.size(); ++i)
                    if (need[i]) r[i] = pieces[i];
                  return r;
                });
}

Tensor flip(const Tensor& a, int64_t dim) {
  dim = wrap_dim(dim, a.dim(), "flip");
  // A negative-stride view, materialised by copy_ into a fresh tensor.
  Shape strides = a.strides();
  int64_t offset = a.offset() + (a.shape()[dim] - 1) * strides[dim];
  strides[dim] = -strides[dim];
  if (a.shape()[dim] == 0) offset = a.offset();
  Tensor view = make_view(a, a.shape(), strides, offset);
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  copy_(out, view);
  if (TraceRecorder* r = active_trace()) r->record({"flip", {a}, {out}, {}});
  return record(out, "flip", {a}, [dim](const Tensor& g, const std::vector<bool>&) -> Grads {
    return {flip(g, dim)};
  });
}

Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, a.dim(), "index_select");
  PTL_CHECK(index.dtype() == DType::I64 && index.dim() == 1,
            "index_select: index must be a 1-d int64 tensor, got ", dtype_name(index.dtype()), " ",
            index.shape_str());
  // Reported before it runs: its body calls narrow, which is not part of a traced graph.
  if (TraceRecorder* r = active_trace()) r->record({"index_select", {a}, {}, {}});
  std::vector<int64_t> idx = index.to_int_vector();
  const int64_t n = a.shape()[dim];
  for (int64_t i : idx)
    PTL_CHECK(i >= 0 && i < n, "index_select: index ", i, " is out of range for dimension ", dim,
              " of size ", n);
  Shape shape = a.shape();
  shape[dim] = static_cast<int64_t>(idx.size());
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  for (size_t k = 0; k < idx.size(); ++k) {
    Tensor dst = narrow(out, dim, static_cast<int64_t>(k), 1);
    copy_(dst, narrow(a.detach(), dim, idx[k], 1));
  }
  return record(out, "index_select", {a},
                [idx, dim, in = a.shape()](const Tensor& g, const std::vector<bool>&) -> Grads {
                  Tensor gx = zeros(in, g.dtype(), g.device());
                  for (size_t k = 0; k < idx.size(); ++k) {
                    Tensor slot = narrow(gx, dim, idx[k], 1);
                    Tensor sum_here = add(slot, narrow(g, dim, static_cast<int64_t>(k), 1));
                    copy_(slot, sum_here);
                  }
                  return {gx};
                });
}

}  // namespace ptl
