// JPEG, PNG and BMP decoding through the project's loader (stb_image behind read callbacks that
// catch truncation). A decoded image must be RGB of the size it claims.
#include "data/image_decode.h"
#include "tests/fuzz/fuzz_target.h"

PTL_FUZZ_TARGET(image) {
  const ptl::data::Image img = ptl::data::decode_image(input, "fuzz.img");
  ptl::fuzz::expect(img.h > 0 && img.w > 0 && img.c == 3 &&
                        img.px.size() == static_cast<size_t>(img.h) * img.w * 3,
                    "decoded image size");
}
