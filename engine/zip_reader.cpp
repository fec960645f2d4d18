#include "engine/zip_reader.h"

#include <zlib.h>

#include <algorithm>

#include "base/error.h"

namespace ptl {

namespace {
constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50,
                   kEnd64 = 0x06064b50, kLocator64 = 0x07064b50;
constexpr size_t kEndSize = 22, kLocatorSize = 20, kEnd64Size = 56, kCentralSize = 46,
                 kLocalSize = 30;

uint64_t le(std::string_view b, uint64_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// True when [at, at + n) lies inside `b` (no overflow).
bool inside(std::string_view b, uint64_t at, uint64_t n) {
  return at <= b.size() && n <= b.size() - at;
}

uint32_t crc_of(std::string_view data) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}
}  // namespace

bool looks_like_zip(std::string_view b) {
  return b.size() >= 4 && (le(b, 0, 4) == kLocal || le(b, 0, 4) == kEnd);
}

ZipReader::ZipReader(std::string_view bytes, std::string what)
    : bytes_(bytes), what_(std::move(what)) {
  const std::string cut = ": the file was cut short or is corrupt; copy or download it again";
  // The end record: 22 bytes and a comment of at most 65,535, at the very end.
  PTL_CHECK(bytes_.size() >= kEndSize, what_, ": truncated zip (", bytes_.size(), " bytes)", cut);
  uint64_t end = bytes_.size() - kEndSize;
  const uint64_t lowest = end > 0xFFFF ? end - 0xFFFF : 0;
  while (le(bytes_, end, 4) != kEnd || end + kEndSize + le(bytes_, end + 20, 2) != bytes_.size()) {
    PTL_CHECK(end > lowest, what_, ": truncated zip (no end-of-central-directory record)", cut);
    --end;
  }
  uint64_t count = le(bytes_, end + 10, 2), dir_size = le(bytes_, end + 12, 4),
           dir_offset = le(bytes_, end + 16, 4);
  if (count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    // ZIP64: a locator just before the end record points at the 64-bit end record.
    PTL_CHECK(end >= kLocatorSize && le(bytes_, end - kLocatorSize, 4) == kLocator64, what_,
              ": zip64 archive without its locator", cut);
    const uint64_t at = le(bytes_, end - kLocatorSize + 8, 8);
    PTL_CHECK(inside(bytes_, at, kEnd64Size) && le(bytes_, at, 4) == kEnd64, what_,
              ": zip64 end record outside the file", cut);
    count = le(bytes_, at + 32, 8);
    dir_size = le(bytes_, at + 40, 8);
    dir_offset = le(bytes_, at + 48, 8);
  }
  PTL_CHECK(inside(bytes_, dir_offset, dir_size) && count <= dir_size / kCentralSize, what_,
            ": truncated zip (its directory of ", count, " entries lies outside the file)", cut);

  uint64_t p = dir_offset;
  for (uint64_t i = 0; i < count; ++i) {
    PTL_CHECK(inside(bytes_, p, kCentralSize) && le(bytes_, p, 4) == kCentral, what_,
              ": corrupt zip directory at entry ", i, cut);
    ZipEntry e;
    const uint64_t flags = le(bytes_, p + 8, 2), name_len = le(bytes_, p + 28, 2),
                   extra_len = le(bytes_, p + 30, 2), comment_len = le(bytes_, p + 32, 2);
    e.method = static_cast<uint16_t>(le(bytes_, p + 10, 2));
    e.crc32 = static_cast<uint32_t>(le(bytes_, p + 16, 4));
    e.compressed_size = le(bytes_, p + 20, 4);
    e.size = le(bytes_, p + 24, 4);
    uint64_t local = le(bytes_, p + 42, 4);
    PTL_CHECK(inside(bytes_, p + kCentralSize, name_len + extra_len + comment_len), what_,
              ": corrupt zip directory at entry ", i, cut);
    e.name = std::string(bytes_.substr(p + kCentralSize, name_len));
    // The zip64 extra field holds, in this order, each of the three values saturated above.
    for (uint64_t x = p + kCentralSize + name_len, x_end = x + extra_len; x + 4 <= x_end;) {
      const uint64_t id = le(bytes_, x, 2), len = le(bytes_, x + 2, 2);
      PTL_CHECK(x + 4 + len <= x_end, what_, ": corrupt extra field of entry '", e.name, "'", cut);
      if (id == 0x0001) {
        uint64_t q = x + 4;
        for (uint64_t* v : {&e.size, &e.compressed_size, &local}) {
          if (*v != 0xFFFFFFFF) continue;
          PTL_CHECK(q + 8 <= x + 4 + len, what_, ": short zip64 field of entry '", e.name, "'",
                    cut);
          *v = le(bytes_, q, 8);
          q += 8;
        }
      }
      x += 4 + len;
    }
    PTL_CHECK((flags & 1) == 0, what_, ": entry '", e.name, "' is encrypted; ptl reads plain zips");
    PTL_CHECK(e.method == 0 || e.method == 8, what_, ": entry '", e.name,
              "' uses compression method ", e.method,
              "; ptl reads stored and deflated entries (as torch.save writes them)");
    PTL_CHECK(inside(bytes_, local, kLocalSize) && le(bytes_, local, 4) == kLocal, what_,
              ": entry '", e.name, "' points outside the file", cut);
    e.data_offset = local + kLocalSize + le(bytes_, local + 26, 2) + le(bytes_, local + 28, 2);
    PTL_CHECK(inside(bytes_, e.data_offset, e.compressed_size), what_, ": truncated zip (entry '",
              e.name, "' of ", e.compressed_size, " bytes runs past the end of the file)", cut);
    PTL_CHECK(e.method == 8 || e.size == e.compressed_size, what_, ": stored entry '", e.name,
              "' has two sizes (", e.size, " and ", e.compressed_size, ")", cut);
    entries_.push_back(std::move(e));
    p += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const ZipEntry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

std::string_view ZipReader::read(const ZipEntry& e, std::string& scratch) const {
  std::string_view data = bytes_.substr(e.data_offset, e.compressed_size);
  if (e.method == 8) {
    // Deflate expands at most 1032:1: a larger claimed size is corrupt, not worth allocating.
    PTL_CHECK(e.size <= 1032 * e.compressed_size + 1024, what_, ": entry '", e.name, "' claims ",
              e.size, " bytes inflated from ", e.compressed_size, ": corrupt zip");
    scratch.assign(e.size, '\0');
    z_stream z{};
    PTL_CHECK(inflateInit2(&z, -MAX_WBITS) == Z_OK, what_, ": zlib cannot start inflating");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.next_out = reinterpret_cast<Bytef*>(scratch.data());
    uint64_t in_left = data.size(), out_left = scratch.size();
    int rc = Z_OK;
    while (rc == Z_OK) {  // zlib counts in 32-bit chunks
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      z.avail_in = in_chunk;
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_left -= in_chunk - z.avail_in;
      out_left -= out_chunk - z.avail_out;
      if (rc == Z_OK && z.avail_in == in_chunk && z.avail_out == out_chunk) rc = Z_BUF_ERROR;
    }
    inflateEnd(&z);
    PTL_CHECK(rc == Z_STREAM_END && out_left == 0, what_, ": entry '", e.name,
              "' does not inflate to its ", e.size, " bytes: corrupt zip");
    data = scratch;
  }
  PTL_CHECK(crc_of(data) == e.crc32, what_, ": entry '", e.name,
            "' fails its CRC-32 check: the file is corrupt; copy or download it again");
  return data;
}

}  // namespace ptl
