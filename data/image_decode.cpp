#include "data/image_decode.h"

#include <algorithm>
#include <cstring>

#include "data/file_util.h"
#include "engine/error.h"

// The one stb_image implementation of the project. Only the formats the datasets use.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace ptl::data {

namespace {
constexpr int64_t kMaxPixels = int64_t{1} << 26;  // 64 Mpixel: far above any dataset image

// stb reads through these callbacks so that a read at the end of the data is seen: stb itself
// would pad a truncated JPEG or BMP with zeros and report success.
struct Reader {
  const std::string* bytes;
  size_t pos = 0;
  bool overran = false;
};

int read_cb(void* user, char* out, int size) {
  auto* r = static_cast<Reader*>(user);
  size_t left = r->bytes->size() - r->pos;
  if (left == 0) {
    r->overran = true;
    return 0;
  }
  size_t n = std::min(left, static_cast<size_t>(size));
  std::memcpy(out, r->bytes->data() + r->pos, n);
  r->pos += n;
  return static_cast<int>(n);
}

void skip_cb(void* user, int n) {
  auto* r = static_cast<Reader*>(user);
  // stb skips backwards only within its own buffer; clamp both ways.
  int64_t p = static_cast<int64_t>(r->pos) + n;
  if (p > static_cast<int64_t>(r->bytes->size())) r->overran = true;
  r->pos = static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(p, r->bytes->size())));
}

int eof_cb(void* user) {
  auto* r = static_cast<Reader*>(user);
  return r->pos >= r->bytes->size();
}

// stb_image 2.27 writes past its Huffman tables when a DHT segment declares more than 256 codes
// (fixed upstream in 2.28), so JPEG segments are walked first and such a table is refused.
// The walk follows stb's: length-prefixed segments are skipped whole, entropy-coded data byte by
// byte (inside it 0xFF is always followed by 0x00 or a restart marker).
void check_jpeg_tables(const std::string& b, const std::string& what) {
  const auto u8 = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
  size_t p = 2;
  while (p + 4 <= b.size()) {
    if (u8(p) != 0xFF || u8(p + 1) == 0xFF) {
      ++p;
      continue;
    }
    const uint8_t m = u8(p + 1);
    if (m == 0xD9) return;  // end of image
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) {  // no length field
      p += 2;
      continue;
    }
    const size_t end = std::min(b.size(), p + 2 + (static_cast<size_t>(u8(p + 2)) << 8 | u8(p + 3)));
    if (m == 0xC4) {
      for (size_t t = p + 4; t + 17 <= end;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += u8(t + i);
        PTL_CHECK(codes <= 256, what, ": corrupt JPEG (a Huffman table declares ", codes, " codes)");
        t += 17 + codes;
      }
    }
    p = end;
  }
}

// The format from the file's magic bytes; nullptr when it is none of ours.
const char* format_of(const std::string& b) {
  const auto at = [&](size_t i) { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0; };
  if (at(0) == 0xFF && at(1) == 0xD8) return "JPEG";
  if (at(0) == 0x89 && at(1) == 'P' && at(2) == 'N' && at(3) == 'G') return "PNG";
  if (at(0) == 'B' && at(1) == 'M') return "BMP";
  return nullptr;
}
}  // namespace

Image decode_image(const std::string& bytes, const std::string& what) {
  PTL_CHECK(!bytes.empty(), what, ": zero-byte file, not an image");
  const char* format = format_of(bytes);
  PTL_CHECK(format != nullptr, what, ": not a JPEG, PNG or BMP image");
  if (format[0] == 'J') check_jpeg_tables(bytes, what);
  Reader reader{&bytes};
  stbi_io_callbacks cb{read_cb, skip_cb, eof_cb};
  int w = 0, h = 0, c = 0;
  // A corrupt header can claim gigapixels; refuse before stb allocates for them.
  if (stbi_info_from_callbacks(&cb, &reader, &w, &h, &c))
    PTL_CHECK(static_cast<int64_t>(w) * h <= kMaxPixels, what, ": image of ", w, "x", h,
              " pixels is larger than the ", kMaxPixels, "-pixel limit (corrupt header?)");
  reader = Reader{&bytes};
  stbi_uc* px = stbi_load_from_callbacks(&cb, &reader, &w, &h, &c, 3);
  if (px == nullptr) {
    PTL_CHECK(!reader.overran, what, ": truncated ", format, " (the data ends before the image does)");
    fail(str(what, ": corrupt ", format, " (", stbi_failure_reason() ? stbi_failure_reason() : "unknown error", ")"));
  }
  Image img;
  img.h = h;
  img.w = w;
  img.c = 3;
  img.px.assign(px, px + static_cast<size_t>(w) * h * 3);
  stbi_image_free(px);
  PTL_CHECK(!reader.overran, what, ": truncated ", format, " (the data ends before the image does)");
  return img;
}

Image load_image(const std::string& path) { return decode_image(read_file(path), path); }

}  // namespace ptl::data
