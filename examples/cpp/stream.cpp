// Compresses or decompresses a file through libsibyl's C++ wrappers
// (sibyl.hpp), streaming in 64 KiB pieces.
//
//   sibyl_stream_cpp -c IN OUT [LEVEL] | -d IN OUT
#include <sibyl/sibyl.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4 || (std::string(argv[1]) != "-c" && std::string(argv[1]) != "-d")) {
    std::cerr << "usage: " << argv[0] << " -c|-d IN OUT [LEVEL]   (libsibyl " << sibyl_version_string() << ")\n";
    return 2;
  }
  const bool compressing = std::string(argv[1]) == "-c";
  std::ifstream in(argv[2], std::ios::binary);
  std::ofstream out(argv[3], std::ios::binary | std::ios::trunc);
  if (!in || !out) {
    std::cerr << "sibyl_stream_cpp: cannot open the files\n";
    return 1;
  }
  try {
    sibyl::Compressor c(argc > 4 ? std::stoi(argv[4]) : SIBYL_LEVEL_DEFAULT);
    sibyl::Decompressor d;
    std::vector<uint8_t> buf(1 << 16), produced;
    auto put = [&] {
      out.write(reinterpret_cast<const char*>(produced.data()), static_cast<std::streamsize>(produced.size()));
      produced.clear();
    };
    while (in) {
      in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
      const std::span<const uint8_t> piece(buf.data(), static_cast<size_t>(in.gcount()));
      if (compressing) c.feed(piece, produced);
      else d.feed(piece, produced);
      put();
    }
    if (compressing) c.finish(produced);
    else d.finish(produced);
    put();
  } catch (const sibyl::Failure& e) {
    std::cerr << "sibyl_stream_cpp: " << e.what() << " (code " << e.code() << ")\n";
    out.close();
    std::remove(argv[3]);
    return 1;
  }
  out.close();
  if (!out) {
    std::cerr << "sibyl_stream_cpp: cannot write " << argv[3] << "\n";
    return 1;
  }
  return 0;
}
