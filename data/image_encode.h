// Image encoding through stb_image_write (linked statically into this file only, so it does not
// clash with other users of stb_image_write): JPEG for the synthetic datasets, PNG and BMP for
// tests and tools. `pixels` is HWC, c = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA).
#pragma once
#include <cstdint>
#include <string>

namespace ptl::data {

std::string encode_jpeg(int w, int h, int c, const uint8_t* pixels, int quality);
std::string encode_png(int w, int h, int c, const uint8_t* pixels);
std::string encode_bmp(int w, int h, int c, const uint8_t* pixels);

// Encodes and writes `path`; throws ptl::Error naming the file on failure.
void write_jpeg(const std::string& path, int w, int h, int c, const uint8_t* pixels, int quality);
void write_png(const std::string& path, int w, int h, int c, const uint8_t* pixels);

// Writes bytes to `path` (throws naming the file).
void write_file(const std::string& path, const std::string& bytes);

}  // namespace ptl::data
