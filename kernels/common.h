#pragma once
// What the raw kernels share, without Torch types, so that nvcc compiles them alone: the stream
// type of the CUDA entry points and the qualifier of helpers used on both host and device.

struct CUstream_st;

#ifdef __CUDACC__
#define POLYPHONY_HOST_DEVICE __host__ __device__
#else
#define POLYPHONY_HOST_DEVICE
#endif

namespace polyphony::kernels {

using Stream = CUstream_st*;  // a cudaStream_t

}  // namespace polyphony::kernels
