#include "codecs/bytes/x86_parse.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "codecs/bytes/x86_filter.h"
#include "x86_sample.h"

namespace sibyl::x86 {
namespace {

using F = X86Parse::Field;

// Feeds one instruction and checks the field before each of its bytes,
// and that the parser is at the next instruction's start after it.
void expect_fields(X86Parse& p, std::vector<uint8_t> bytes, std::vector<F> fields) {
  ASSERT_EQ(bytes.size(), fields.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_EQ(p.field(), fields[i]) << "byte " << i;
    p.push(bytes[i]);
  }
  EXPECT_EQ(p.field(), F::kStart);
  EXPECT_EQ(p.pos(), 0);
  EXPECT_EQ(p.op(), 0u);
}

TEST(X86Parse, FieldsOfCommonInstructions) {
  X86Parse p;
  // mov rax, [rbp - 8]: REX.W, opcode, ModRM (mod 1, rm 5), disp8.
  expect_fields(p, {0x48, 0x8b, 0x45, 0xf8}, {F::kStart, F::kStart, F::kModrm, F::kDisp});
  EXPECT_EQ(p.history() & 0xffff, (0x8bu << 5) | (1u << 3) | 0u);
  // call rel32.
  expect_fields(p, {0xe8, 1, 2, 3, 4}, {F::kStart, F::kImm, F::kImm, F::kImm, F::kImm});
  EXPECT_EQ(p.history() & 0xffff, (0xe8u << 5) | 0x1fu);
  EXPECT_EQ(p.history() >> 16 & 0xffff, (0x8bu << 5) | (1u << 3));
  // je rel32 in map 1.
  expect_fields(p, {0x0f, 0x84, 0, 1, 0, 0}, {F::kStart, F::kEscape, F::kImm, F::kImm, F::kImm, F::kImm});
  EXPECT_EQ(p.history() & 0xffff, (0x184u << 5) | 0x1fu);
  // nop dword [rax + rax + 0]: 66 prefix, 0F 1F, ModRM with SIB and disp8.
  expect_fields(p, {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
                {F::kStart, F::kStart, F::kEscape, F::kModrm, F::kSib, F::kDisp});
  // mov rax, imm64.
  expect_fields(p, {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8},
                {F::kStart, F::kStart, F::kImm, F::kImm, F::kImm, F::kImm, F::kImm, F::kImm, F::kImm, F::kImm});
  // mov ax, imm16 (66 shortens the immediate).
  expect_fields(p, {0x66, 0xb8, 1, 2}, {F::kStart, F::kStart, F::kImm, F::kImm});
  // test eax, imm32 through F7 /0; not eax (F7 /2) has none.
  expect_fields(p, {0xf7, 0xc0, 1, 2, 3, 4}, {F::kStart, F::kModrm, F::kImm, F::kImm, F::kImm, F::kImm});
  expect_fields(p, {0xf7, 0xd0}, {F::kStart, F::kModrm});
  // lea rax, [rip + d32].
  expect_fields(p, {0x48, 0x8d, 0x05, 1, 2, 3, 4}, {F::kStart, F::kStart, F::kModrm, F::kDisp, F::kDisp, F::kDisp, F::kDisp});
  // mov dword [rbp - 4], imm32: displacement, then immediate.
  expect_fields(p, {0xc7, 0x45, 0xfc, 1, 0, 0, 0}, {F::kStart, F::kModrm, F::kDisp, F::kImm, F::kImm, F::kImm, F::kImm});
  // pshufd xmm0, xmm1, imm8 (66 0F 70 /r ib); pshufb (66 0F 38 00 /r); palignr (66 0F 3A 0F /r ib).
  expect_fields(p, {0x66, 0x0f, 0x70, 0xc1, 0x1b}, {F::kStart, F::kStart, F::kEscape, F::kModrm, F::kImm});
  expect_fields(p, {0x66, 0x0f, 0x38, 0x00, 0xc1}, {F::kStart, F::kStart, F::kEscape, F::kEscape3, F::kModrm});
  expect_fields(p, {0x66, 0x0f, 0x3a, 0x0f, 0xc1, 8}, {F::kStart, F::kStart, F::kEscape, F::kEscape3, F::kModrm, F::kImm});
  // vmovdqa xmm0, [rsp] (two-byte VEX); vpermq ymm0, ymm1, imm8 (three-byte VEX, map 3).
  expect_fields(p, {0xc5, 0xf9, 0x6f, 0x04, 0x24}, {F::kStart, F::kVex, F::kEscape3, F::kModrm, F::kSib});
  EXPECT_EQ(p.history() & 0xffff, (0x16fu << 5) | 0u);
  expect_fields(p, {0xc4, 0xe3, 0xfd, 0x00, 0xc1, 0x4e}, {F::kStart, F::kVex, F::kVex, F::kEscape3, F::kModrm, F::kImm});
  EXPECT_EQ(p.history() & 0xffff, (0x300u << 5) | (3u << 3));
  // EVEX vmovdqu64 zmm0, [rax]: three payload bytes, map 1.
  expect_fields(p, {0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x00}, {F::kStart, F::kVex, F::kVex, F::kVex, F::kEscape3, F::kModrm});
  // push rbp; ret: one byte each.
  expect_fields(p, {0x55}, {F::kStart});
  expect_fields(p, {0xc3}, {F::kStart});
}

// Whatever the bytes, the parser's state stays in range and, after data,
// it falls back into step on code: on the synthetic functions it ends each
// at the next instruction start.
TEST(X86Parse, AnyBytesKeepItInRangeAndCodeResynchronises) {
  std::mt19937 rng(5);
  X86Parse p;
  for (int i = 0; i < 200000; ++i) {
    p.push(static_cast<uint8_t>(rng()));
    ASSERT_LE(static_cast<int>(p.field()), static_cast<int>(F::kImm));
    ASSERT_GE(p.pos(), 0);
    ASSERT_LE(p.pos(), 15);
    ASSERT_LT(p.op(), 0x400u);
    ASSERT_GE(p.modrm(), -1);
    ASSERT_LT(p.modrm(), 256);
  }
  for (int i = 0; i < 100; ++i) p.push(0x66);  // a run of prefixes
  EXPECT_EQ(p.field(), F::kStart);
  EXPECT_EQ(p.pos(), 15);
  const std::vector<uint8_t> code = test::x86_sample(20000, 3);
  EXPECT_TRUE(looks_like_x86(code));
  size_t functions = 0, starts = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    p.push(code[i]);
    // "push rbp; mov rbp, rsp" begins each function.
    if (i > 1000 && i + 4 < code.size() && code[i + 1] == 0x55 && code[i + 2] == 0x48 && code[i + 3] == 0x89 &&
        code[i + 4] == 0xe5) {
      ++functions;
      starts += p.field() == F::kStart && p.pos() == 0;
    }
  }
  EXPECT_GT(functions, 100u);
  EXPECT_EQ(starts, functions);
}

}  // namespace
}  // namespace sibyl::x86
