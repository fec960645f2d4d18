#include "data/image_encode.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/error.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace ptl::data {

namespace {
void append_cb(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
void check_args(int w, int h, int c, const uint8_t* pixels) {
  PTL_CHECK(w > 0 && h > 0 && c >= 1 && c <= 4 && pixels != nullptr, "image encode: bad image ", h,
            "x", w, "x", c);
}
}  // namespace

std::string encode_jpeg(int w, int h, int c, const uint8_t* pixels, int quality) {
  check_args(w, h, c, pixels);
  PTL_CHECK(quality >= 1 && quality <= 100, "JPEG quality must be in 1..100, got ", quality);
  std::string out;
  PTL_CHECK(stbi_write_jpg_to_func(append_cb, &out, w, h, c, pixels, quality),
            "JPEG encode failed");
  return out;
}

std::string encode_png(int w, int h, int c, const uint8_t* pixels) {
  check_args(w, h, c, pixels);
  std::string out;
  PTL_CHECK(stbi_write_png_to_func(append_cb, &out, w, h, c, pixels, w * c), "PNG encode failed");
  return out;
}

std::string encode_bmp(int w, int h, int c, const uint8_t* pixels) {
  check_args(w, h, c, pixels);
  std::string out;
  PTL_CHECK(stbi_write_bmp_to_func(append_cb, &out, w, h, c, pixels), "BMP encode failed");
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  PTL_CHECK(f.good(), path, ": cannot write (", std::strerror(errno), ")");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  PTL_CHECK(f.good(), path, ": write failed (disk full?)");
}

void write_jpeg(const std::string& path, int w, int h, int c, const uint8_t* pixels, int quality) {
  write_file(path, encode_jpeg(w, h, c, pixels, quality));
}

void write_png(const std::string& path, int w, int h, int c, const uint8_t* pixels) {
  write_file(path, encode_png(w, h, c, pixels));
}

}  // namespace ptl::data
