#include "layers/convert.h"

#include "engine/autograd.h"

namespace ptl {

void convert_floats(Module& module, DType dtype) {
  PTL_CHECK(is_floating(dtype), "convert_floats: target dtype must be floating, got ",
            dtype_name(dtype));
  NoGradGuard ng;
  auto convert = [&](const Tensor& t) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
    Tensor c = t.detach().to(dtype).contiguous();
    TensorImpl& impl = t.impl();  // shared by every handle to this tensor
    impl.storage = c.impl().storage;
    impl.offset = c.offset();
    impl.strides = c.strides();
    impl.dtype = dtype;
    impl.grad.reset();
  };
  for (auto& [n, t] : module.named_parameters()) convert(t);
  for (auto& [n, t] : module.named_buffers()) convert(t);
}

}  // namespace ptl
