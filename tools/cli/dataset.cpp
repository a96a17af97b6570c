#include "dataset.h"

#include "codecs/pc/collection.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace sibyl::cli {

namespace {

Status read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return Error(ErrorCode::kIo, path + ": cannot open: " + std::strerror(errno));
  out->clear();
  uint8_t buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    if (out->size() + got > kMaxDatasetBytes) return Error(ErrorCode::kInvalidArgument, path + ": larger than 8 GiB");
    out->insert(out->end(), buf, buf + got);
  }
  if (std::ferror(f.get())) return Error(ErrorCode::kIo, path + ": read error");
  return Status::Ok();
}

Status gunzip(const std::string& path, const std::vector<uint8_t>& in, std::vector<uint8_t>* out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Error(ErrorCode::kInternal, "zlib init failed");
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  out->clear();
  std::vector<uint8_t> buf(1 << 20);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = buf.data();
    z.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return Error(ErrorCode::kCorrupt, path + ": not a valid gzip stream");
    }
    const size_t got = buf.size() - z.avail_out;
    if (out->size() + got > kMaxDatasetBytes) {
      inflateEnd(&z);
      return Error(ErrorCode::kInvalidArgument, path + ": uncompressed data larger than 8 GiB");
    }
    out->insert(out->end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
    if (rc == Z_OK && got == 0 && z.avail_in == 0) {
      inflateEnd(&z);
      return Error(ErrorCode::kTruncated, path + ": gzip stream is truncated");
    }
  }
  inflateEnd(&z);
  return Status::Ok();
}

Status add_records(Dataset* out, const std::string& path, const uint8_t* data, size_t count, size_t rsize,
                   const std::string& shape, uint64_t row) {
  if (out->record_size == 0) {
    out->record_size = rsize;
    out->shape = shape;
    out->width = row > 0 && row < rsize && rsize % row == 0 ? static_cast<uint32_t>(row) : 0;
  } else if (out->record_size != rsize) {
    return Error(ErrorCode::kInvalidArgument, path + ": records of shape " + shape + ", not " + out->shape);
  }
  if (out->records.size() + count * rsize > kMaxDatasetBytes)
    return Error(ErrorCode::kInvalidArgument, "training set larger than 8 GiB");
  out->records.insert(out->records.end(), data, data + count * rsize);
  out->count += count;
  for (size_t i = 0; i < count * rsize; ++i) out->max_value = std::max<uint32_t>(out->max_value, data[i]);
  return Status::Ok();
}

}  // namespace

Status load_dataset(const std::vector<std::string>& paths, Dataset* out) {
  namespace fs = std::filesystem;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(path, ec))
        if (e.is_regular_file() && e.path().extension() == ".pgm") files.push_back(e.path().string());
      if (ec) return Error(ErrorCode::kIo, path + ": cannot read the directory");
      std::sort(files.begin(), files.end());
      if (files.empty()) return Error(ErrorCode::kInvalidArgument, path + ": no .pgm files in the directory");
      std::vector<uint8_t> f;
      for (const std::string& name : files) {
        SIBYL_RETURN_IF_ERROR(read_file(name, &f));
        pc::Collection c;
        if (!pc::parse_collection(f, &c) || std::string(c.container) != "pgm" || c.header_bytes + c.record != f.size())
          return Error(ErrorCode::kInvalidArgument, name + ": not a binary 8-bit PGM (P5)");
        SIBYL_RETURN_IF_ERROR(add_records(out, name, f.data() + c.header_bytes, 1, c.record, c.shape, c.row));
        for (size_t i = c.header_bytes; i < f.size(); ++i)
          if (f[i] > c.max_value) return Error(ErrorCode::kInvalidArgument, name + ": a pixel exceeds the maxval");
      }
      continue;
    }
    std::vector<uint8_t> f;
    SIBYL_RETURN_IF_ERROR(read_file(path, &f));
    if (f.size() >= 2 && f[0] == 0x1f && f[1] == 0x8b) {
      std::vector<uint8_t> raw;
      SIBYL_RETURN_IF_ERROR(gunzip(path, f, &raw));
      f.swap(raw);
    }
    pc::Collection c;
    if (!pc::parse_collection(f, &c) || std::string(c.container) == "pgm")
      return Error(ErrorCode::kInvalidArgument, path + ": not an IDX file, an NPY uint8 array [N, ...] or a PGM directory");
    if (c.header_bytes > f.size() || c.count > (f.size() - c.header_bytes) / c.record)
      return Error(ErrorCode::kInvalidArgument, path + ": the file holds fewer records than its header says");
    SIBYL_RETURN_IF_ERROR(add_records(out, path, f.data() + c.header_bytes, c.count, c.record, c.shape, c.row));
  }
  if (out->count == 0) return Error(ErrorCode::kInvalidArgument, "the training set has no records");
  return Status::Ok();
}

}  // namespace sibyl::cli
