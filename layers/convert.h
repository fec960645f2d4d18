// Converts a module's floating parameters and buffers to another float dtype in place, as
// torch's module.double() / .float(): every layer holding a handle sees the new data. Gradients
// are dropped. Used by the float64 model parity tests.
#pragma once
#include "layers/module.h"

namespace ptl {

void convert_floats(Module& module, DType dtype);

}  // namespace ptl
