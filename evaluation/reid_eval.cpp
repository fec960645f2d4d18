#include "evaluation/reid_eval.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "engine/json.h"
#include "engine/safetensors.h"

namespace ptl {

namespace {

Tensor take(TensorMap& m, const std::string& name, const std::string& path, bool ids) {
  auto it = m.find(name);
  if (it == m.end()) return Tensor();
  Tensor t = it->second;
  m.erase(it);
  const DType dt = t.dtype();
  if (ids) {
    PTL_CHECK(dt == DType::I64 || dt == DType::I32, path, ": tensor '", name, "' has dtype ",
              dtype_name(dt), "; person and camera ids must be int64 (or int32)");
    PTL_CHECK(t.dim() == 1, path, ": tensor '", name,
              "' must be 1-d (one id per image), got shape ", t.shape_str());
    return t;
  }
  PTL_CHECK(is_floating(dt), path, ": tensor '", name, "' has dtype ", dtype_name(dt),
            "; expected float32");
  return t.to(DType::F32).contiguous();
}

ReidIds take_ids(TensorMap& m, const std::string& side, const std::string& path) {
  ReidIds ids;
  for (const char* what : {"pids", "camids"}) {
    const std::string name = side + "_" + what;
    Tensor t = take(m, name, path, true);
    PTL_CHECK(t.defined(), path, ": missing tensor '", name, "' (", side, " ",
              std::strcmp(what, "pids") == 0 ? "person" : "camera", " ids, int64)");
    (std::strcmp(what, "pids") == 0 ? ids.pids : ids.camids) = t.to_int_vector();
  }
  return ids;
}

void check_matrix(const Tensor& t, const char* name, int64_t rows, const char* rows_from,
                  int64_t cols, const char* cols_from) {
  PTL_CHECK(t.dim() == 2 && t.size(0) == rows && t.size(1) == cols, name, " has shape ",
            t.shape_str(), ", expected (", rows, ", ", cols, ") from ", rows_from, " (", rows,
            ") and ", cols_from, " (", cols, ")");
}

// The first NaN or infinity of a float tensor, named with its position.
void check_finite(const Tensor& t, const char* name) {
  const float* p = t.data<float>();
  const int64_t n = t.numel(), w = t.size(-1);
  for (int64_t i = 0; i < n; ++i)
    PTL_CHECK(std::isfinite(p[i]), name, "[", i / w, ", ", i % w, "] is ",
              std::isnan(p[i]) ? "NaN" : "infinite");
}

void check_ids(const ReidIds& ids, const char* side, int64_t n, const char* what) {
  PTL_CHECK(int64_t(ids.pids.size()) == n, side, "_pids has ", ids.pids.size(), " entries but ",
            what, " has ", n);
  PTL_CHECK(int64_t(ids.camids.size()) == n, side, "_camids has ", ids.camids.size(),
            " entries but ", what, " has ", n);
}

}  // namespace

EvalInputs load_eval_inputs(const std::string& path) {
  TensorMap m = load_safetensors(path);
  EvalInputs in;
  in.query_features = take(m, "query_features", path, false);
  in.gallery_features = take(m, "gallery_features", path, false);
  in.distmat = take(m, "distmat", path, false);
  in.distmat_qq = take(m, "distmat_qq", path, false);
  in.distmat_gg = take(m, "distmat_gg", path, false);
  PTL_CHECK(in.query_features.defined() || in.gallery_features.defined() || in.distmat.defined(),
            path, ": holds neither query_features/gallery_features nor distmat");
  in.query = take_ids(m, "query", path);
  in.gallery = take_ids(m, "gallery", path);
  std::map<std::string, std::string> meta = load_safetensors_metadata(path);
  in.query_paths = read_path_list(meta, "query_paths", in.query.pids.size(), path);
  in.gallery_paths = read_path_list(meta, "gallery_paths", in.gallery.pids.size(), path);
  return in;
}

std::string path_list_json(const std::vector<std::string>& paths) {
  std::string s = "[";
  for (size_t i = 0; i < paths.size(); ++i) s += (i ? ", " : "") + json_quote(paths[i]);
  return s + "]";
}

std::vector<std::string> read_path_list(const std::map<std::string, std::string>& meta,
                                        const std::string& key, size_t n, const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) return {};
  const Json list = Json::parse(it->second, path + " metadata " + key);
  PTL_CHECK(list.kind == Json::Kind::Array && list.array.size() == n, path, ": metadata ", key,
            " must be a list of ", n, " image paths, one per row");
  std::vector<std::string> out;
  for (const Json& e : list.array) {
    PTL_CHECK(e.kind == Json::Kind::String, path, ": metadata ", key, " holds a non-string entry");
    out.push_back(e.string);
  }
  return out;
}

namespace {
// A distance source that keeps alive the feature copy and the sources it is built on.
class OwningSource : public DistanceSource {
 public:
  OwningSource(Tensor features, std::unique_ptr<RandomAccessDistance> base, int64_t Q,
               const RerankOptions& opt)
      : DistanceSource(Q, base->cols() - Q),
        features_(std::move(features)),
        base_(std::move(base)),
        top_(std::make_unique<RerankedDistance>(*base_, Q, opt)) {}
  explicit OwningSource(std::unique_ptr<DistanceSource> top)
      : DistanceSource(top->rows(), top->cols()), top_(std::move(top)) {}
  void fill_rows(int64_t r0, int64_t r1, float* out) const override {
    top_->fill_rows(r0, r1, out);
  }
  int64_t row_granularity() const override { return top_->row_granularity(); }

 private:
  Tensor features_;
  std::unique_ptr<RandomAccessDistance> base_;
  std::unique_ptr<DistanceSource> top_;
};
}  // namespace

std::unique_ptr<DistanceSource> make_distance_source(EvalInputs& in, const EvalConfig& cfg) {
  const bool features = in.query_features.defined() || in.gallery_features.defined();
  PTL_CHECK(!(features && in.distmat.defined()),
            "the input holds both features and distmat; keep one of them");
  const int64_t Q = int64_t(in.query.pids.size()), G = int64_t(in.gallery.pids.size());
  if (!features) {
    PTL_CHECK(in.distmat.defined(), "the input holds neither features nor distmat");
    PTL_CHECK(Q > 0, "the query set is empty (query_pids has 0 entries)");
    check_ids(in.query, "query", Q, "query_pids");
    check_ids(in.gallery, "gallery", G, "gallery_pids");
    check_matrix(in.distmat, "distmat", Q, "query_pids", G, "gallery_pids");
    check_finite(in.distmat, "distmat");
    if (!cfg.rerank)
      return std::make_unique<OwningSource>(
          std::make_unique<DenseDistance>(in.distmat.data<float>(), Q, G));
    PTL_CHECK(in.distmat_qq.defined() && in.distmat_gg.defined(),
              "re-ranking from a distance matrix needs distmat_qq (Q, Q) and distmat_gg (G, G) "
              "beside distmat");
    check_matrix(in.distmat_qq, "distmat_qq", Q, "query_pids", Q, "query_pids");
    check_matrix(in.distmat_gg, "distmat_gg", G, "gallery_pids", G, "gallery_pids");
    check_finite(in.distmat_qq, "distmat_qq");
    check_finite(in.distmat_gg, "distmat_gg");
    return std::make_unique<OwningSource>(
        Tensor(),
        std::make_unique<BlockDistance>(in.distmat_qq.data<float>(), in.distmat.data<float>(),
                                        in.distmat_gg.data<float>(), Q, G),
        Q, cfg.rerank_opt);
  }

  PTL_CHECK(in.query_features.defined(), "gallery_features is given but query_features is missing");
  PTL_CHECK(in.gallery_features.defined(),
            "query_features is given but gallery_features is missing");
  const Tensor &qf = in.query_features, &gf = in.gallery_features;
  PTL_CHECK(qf.dim() == 2, "query_features must be (Q, D), got shape ", qf.shape_str());
  PTL_CHECK(gf.dim() == 2, "gallery_features must be (G, D), got shape ", gf.shape_str());
  PTL_CHECK(qf.size(0) > 0, "the query set is empty (query_features has shape ", qf.shape_str(),
            ")");
  PTL_CHECK(gf.size(0) > 0, "the gallery is empty (gallery_features has shape ", gf.shape_str(),
            ")");
  PTL_CHECK(qf.size(1) == gf.size(1) && qf.size(1) > 0, "query_features ", qf.shape_str(),
            " and gallery_features ", gf.shape_str(), " must have the same, non-zero feature size");
  check_ids(in.query, "query", qf.size(0), "query_features (rows)");
  check_ids(in.gallery, "gallery", gf.size(0), "gallery_features (rows)");
  check_finite(qf, "query_features");
  check_finite(gf, "gallery_features");
  const int64_t D = qf.size(1);
  if (!cfg.rerank)
    return std::make_unique<OwningSource>(std::make_unique<FeatureDistance>(
        qf.data<float>(), Q, gf.data<float>(), G, D, cfg.metric, cfg.device));
  // Re-ranking needs the (Q+G, Q+G) distances: one (Q+G, D) feature matrix for both sides.
  Tensor all = Tensor::empty({Q + G, D});
  std::memcpy(all.data<float>(), qf.data<float>(), sizeof(float) * Q * D);
  std::memcpy(all.data<float>() + Q * D, gf.data<float>(), sizeof(float) * G * D);
  in.query_features = in.gallery_features = Tensor();
  auto base = std::make_unique<FeatureDistance>(all.data<float>(), Q + G, all.data<float>(), Q + G,
                                                D, cfg.metric, cfg.device);
  return std::make_unique<OwningSource>(all, std::move(base), Q, cfg.rerank_opt);
}

EvalResult run_evaluation(EvalInputs& in, const EvalConfig& cfg) {
  return evaluate_reid(*make_distance_source(in, cfg), in.query, in.gallery, cfg.eval);
}

std::string eval_json(const EvalResult& r, const EvalConfig& cfg, const std::string& distance) {
  auto cmc_at = [&](size_t k) {
    return k <= r.cmc.size() ? exact_number(100 * r.cmc[k - 1]) : std::string("null");
  };
  std::string s = "{\n  \"units\": \"percent\",\n";
  s += "  \"mAP\": " + exact_number(100 * r.mAP) + ",\n";
  for (size_t k : {1, 5, 10}) s += "  \"Rank-" + std::to_string(k) + "\": " + cmc_at(k) + ",\n";
  s += "  \"mINP\": " + exact_number(100 * r.mINP) + ",\n";
  s += "  \"num_query\": " + std::to_string(r.num_query) + ",\n";
  s += "  \"num_valid\": " + std::to_string(r.num_valid) + ",\n";
  s += "  \"num_skipped\": " + std::to_string(r.num_skipped) + ",\n";
  s += "  \"distance\": " + json_quote(distance) + ",\n";
  s += "  \"protocol\": " + json_quote(cfg.eval.cuhk03_classic ? "cuhk03-classic" : "market1501") +
       ",\n";
  if (cfg.eval.cuhk03_classic)
    s += "  \"cuhk03_draws\": " + std::to_string(cfg.eval.cuhk03_draws) +
         ",\n  \"seed\": " + std::to_string(cfg.eval.seed) + ",\n";
  if (cfg.rerank)
    s += "  \"rerank\": {\"k1\": " + std::to_string(cfg.rerank_opt.k1) +
         ", \"k2\": " + std::to_string(cfg.rerank_opt.k2) +
         ", \"lambda\": " + exact_number(cfg.rerank_opt.lambda) + "},\n";
  else
    s += "  \"rerank\": null,\n";
  s += "  \"cmc\": [";
  for (size_t k = 0; k < r.cmc.size(); ++k) s += (k ? ", " : "") + exact_number(100 * r.cmc[k]);
  return s + "]\n}\n";
}

}  // namespace ptl
