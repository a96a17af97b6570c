// Reversible x86 call/jump address transform (E8/E9).
//
// x86 code calls and jumps with a relative 32-bit displacement after the
// opcode bytes E8 (call) and E9 (jmp). The same target is called from
// many places with different displacements; written as absolute addresses
// (displacement + position of the next instruction) the calls to one
// function become the same bytes, which context models and the match
// model then predict.
//
// Only displacements whose top byte is 00 or FF (|d| < 2^24, which near
// calls are) are converted, and the result is kept in the same set: the
// low 25 bits are the address modulo 2^25, sign-extended into the top
// byte. That set is closed under the transform and its inverse. The 4
// bytes after every E8/E9 are skipped whether converted or not, so the
// opcode bytes are never changed and the decoder visits the same
// positions and restores every byte. Positions are offsets in the block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sibyl::x86 {

// In place. `forward`: displacements to addresses; otherwise back.
void transform(std::span<uint8_t> data, bool forward);

// Whether the block looks like x86 code: plenty of E8/E9 opcodes followed
// by near displacements (ordinary data has 2 in 256 by chance).
bool looks_like_x86(std::span<const uint8_t> data);

}  // namespace sibyl::x86
