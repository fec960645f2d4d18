# Decides PTL_WITH_CUDA from PTL_CUDA=AUTO|ON|OFF and defines ptl_add_cuda_backend(target).
# The toolkit is looked for under /usr/local/cuda unless CUDAToolkit_ROOT says otherwise.
set(PTL_WITH_CUDA OFF)
if(NOT PTL_CUDA STREQUAL "OFF")
  if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS ${CUDAToolkit_ROOT}/bin/nvcc)
    set(CMAKE_CUDA_COMPILER ${CUDAToolkit_ROOT}/bin/nvcc)
  endif()
  find_package(CUDAToolkit QUIET)
  find_library(PTL_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_ROOT}/lib64)
  find_path(PTL_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_ROOT}/include)
  if(CUDAToolkit_FOUND AND TARGET CUDA::cublas AND PTL_CUDNN_LIBRARY AND PTL_CUDNN_INCLUDE_DIR)
    set(PTL_WITH_CUDA ON)
  elseif(PTL_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PTL_CUDA=ON but the CUDA toolkit, cuBLAS or cuDNN was not found "
                        "(looked under ${CUDAToolkit_ROOT}); set CUDAToolkit_ROOT or use PTL_CUDA=OFF")
  endif()
endif()

if(PTL_WITH_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)  # Hopper (H100/H200), the GPU machines of this project
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  message(STATUS "ptl: CUDA backend ON (toolkit ${CUDAToolkit_VERSION}, cuDNN ${PTL_CUDNN_LIBRARY}, archs ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "ptl: CUDA backend OFF (PTL_CUDA=${PTL_CUDA})")
endif()

function(ptl_add_cuda_backend target)
  file(GLOB cuda_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/kernels/cuda/*.cu)
  target_sources(${target} PRIVATE ${cuda_sources})
  # Optimizer updates: no multiply-add contraction beyond the explicit fma calls of
  # kernels/optim_math.h, so parameters round as on the CPU (kernels/cpu/optim.cpp) and in PyTorch.
  set_source_files_properties(${PROJECT_SOURCE_DIR}/kernels/cuda/optim.cu PROPERTIES COMPILE_OPTIONS -fmad=false)
  target_include_directories(${target} PUBLIC ${PTL_CUDNN_INCLUDE_DIR})
  target_link_libraries(${target} PUBLIC CUDA::cudart_static CUDA::cublas ${PTL_CUDNN_LIBRARY})
  set_target_properties(${target} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
endfunction()
