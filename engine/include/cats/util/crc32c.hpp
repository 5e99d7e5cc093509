// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF),
// the checksum of the block store (docs/record_format.md, version 2). x86-64 CPUs with SSE4.2
// compute it with the crc32 instruction, in three lanes side by side on long inputs (8 bytes a
// cycle); elsewhere a slicing-by-8 table does.
// Both give the same value: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cats {

/// The CRC-32C of `n` bytes; `crc` continues a previous value (0 to start).
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0) noexcept;
/// The table version, whatever the CPU (for tests and machines without SSE4.2).
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0) noexcept;
/// True when crc32c() uses the CPU instruction.
bool crc32c_hardware() noexcept;

}  // namespace cats
