// Synthetic x86-64 machine code for tests: function bodies of common
// instructions (prologues and epilogues, moves with 8-bit displacements,
// calls to a few functions, conditional jumps, immediates, RIP-relative
// loads, a VEX move), deterministic from the seed. Enough E8 calls with
// near displacements that the x86 test (x86::looks_like_x86) accepts it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace sibyl::test {

inline std::vector<uint8_t> x86_sample(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  auto put = [&](std::initializer_list<int> bytes) {
    for (int b : bytes) v.push_back(static_cast<uint8_t>(b));
  };
  auto put32 = [&](uint32_t x) {
    for (int k = 0; k < 4; ++k) v.push_back(static_cast<uint8_t>(x >> (8 * k)));
  };
  const uint32_t functions[] = {0x400, 0x1230, 0x5000, 0x9a40, 0x20000, 0x31337, 0x7fff0, 0xa0000};
  const int slots[] = {0xf8, 0xf0, 0xe8, 0xe0, 0xd8, 0xfc};
  while (v.size() < n) {
    put({0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10 * static_cast<int>(1 + rng() % 4)});  // push rbp; mov rbp, rsp; sub rsp, N
    const int body = 4 + static_cast<int>(rng() % 12);
    for (int i = 0; i < body; ++i) {
      const uint32_t r = rng();
      const int slot = slots[r / 16 % 6];
      switch (r % 11) {
        case 0: put({0x48, 0x8b, 0x45, slot}); break;  // mov rax, [rbp + d8]
        case 1: put({0x48, 0x89, 0x45, slot}); break;  // mov [rbp + d8], rax
        case 2: put({0x8b, 0x55, slot}); break;        // mov edx, [rbp + d8]
        case 3:
        case 4:
          put({0xe8});  // call near
          put32(functions[r / 128 % 8] - static_cast<uint32_t>(v.size() + 4));
          break;
        case 5: put({0x85, 0xc0, 0x74, static_cast<int>(r >> 24 & 0x3f)}); break;  // test eax, eax; je short
        case 6:
          put({0x0f, 0x84});  // je near
          put32(r >> 20);
          break;
        case 7:
          put({0x48, 0x8d, 0x05});  // lea rax, [rip + d32]
          put32((r >> 12) & 0xffff);
          break;
        case 8:
          put({0xc7, 0x45, slot});  // mov dword [rbp + d8], imm32
          put32(r >> 28);
          break;
        case 9: put({0xc5, 0xf9, 0x6f, 0x04, 0x24}); break;  // vmovdqa xmm0, [rsp]
        default: put({0x48, 0x83, 0xc0, static_cast<int>(r >> 25)}); break;  // add rax, imm8
      }
    }
    put({0xc9, 0xc3, 0x0f, 0x1f, 0x44, 0x00, 0x00});  // leave; ret; nop
  }
  v.resize(n);
  return v;
}

}  // namespace sibyl::test
