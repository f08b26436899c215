#pragma once
// Process-wide memory settings for training and benchmarking, made first thing in main(), before
// the first tensor is allocated.

namespace polyphony {

// Large CPU tensors on transparent huge pages (PyTorch's THP_MEM_ALLOC_ENABLE), and glibc's
// allocator keeping freed blocks of up to 32 MiB in its heap for reuse instead of returning them
// to the system. Each is left alone where the environment already chose (THP_MEM_ALLOC_ENABLE
// set; GLIBC_TUNABLES naming a glibc.malloc setting).
void configure_process_memory();

}  // namespace polyphony
