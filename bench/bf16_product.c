// The bf16 product kernel of Sources/CBF16 against float32 FMA with the same register blocking
// (6 rows x 4 vectors), in one standalone C loop: the figures of docs/PERFORMANCE.md, "bfloat16
// on AVX512-BF16" (the kernel). Not part of the build. Run, on a CPU with AVX512-BF16:
//
//   gcc -O3 -march=native -ISources/CBF16/include bench/bf16_product.c Sources/CBF16/bf16.c -o /tmp/bf16_product -lm
//   for s in "1026 64 64" "1026 144 16" "4098 32 32" "1026 576 64" "258 288 32"; do /tmp/bf16_product $s; done
//
// Prints, for C[m, n] = A[m, k] * B[k, n]: GMAC/s of stp_bf16_field_product and of the float32
// loop, and the bf16 result's largest error relative to sum |a b| against the float32 product.
#include <immintrin.h>
#include "stp_bf16.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>


#define R 6
__attribute__((target("avx512f")))
static inline __attribute__((always_inline)) void f32_block_t(const int rows, const int nv, int k, const float *a, int lda, const float *b, int n, float *c, int ldc) {
  __m512 acc[R][4];
  for (int r=0;r<R;r++) for (int v=0;v<4;v++) acc[r][v]=_mm512_setzero_ps();
  for (int j=0;j<k;j++) {
    __m512 bv[4];
    for (int v=0;v<nv;v++) bv[v] = _mm512_loadu_ps(b + (size_t)j*n + v*16);
    for (int r=0;r<R;r++) { if (r<rows) {
      __m512 av = _mm512_set1_ps(a[(size_t)r*lda + j]);
      for (int v=0;v<nv;v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }}
  }
  for (int r=0;r<rows;r++) for (int v=0;v<nv;v++) _mm512_storeu_ps(c + (size_t)r*ldc + v*16, acc[r][v]);
}
__attribute__((target("avx512f"))) static void f32_block(int rows,int nv,int k,const float*a,int lda,const float*b,int n,float*c,int ldc){ if(rows==6&&nv==4) f32_block_t(6,4,k,a,lda,b,n,c,ldc); else if(rows==6&&nv==2) f32_block_t(6,2,k,a,lda,b,n,c,ldc); else if (rows==6&&nv==1) f32_block_t(6,1,k,a,lda,b,n,c,ldc); else f32_block_t(rows,nv,k,a,lda,b,n,c,ldc);}
static double now(){ struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9; }
int main(int argc, char**argv){
  if (argc < 4) { fprintf(stderr, "usage: bf16_product M K N\n"); return 2; }
  int m=atoi(argv[1]), k=atoi(argv[2]), n=atoi(argv[3]);
  float *a=malloc(4L*m*k), *b=malloc(4L*k*n), *c=malloc(4L*m*n), *c2=malloc(4L*m*n);
  srand(1); for(long i=0;i<(long)m*k;i++) a[i]=rand()/(float)RAND_MAX-0.5f; for(long i=0;i<(long)k*n;i++) b[i]=rand()/(float)RAND_MAX-0.5f;
  uint16_t *ab=malloc(2L*m*k), *pk=malloc(2*stp_bf16_packed_values(1,k,n));
  stp_bf16_from_float(a,ab,(long)m*k); stp_bf16_pack(b,n,1,1,k,n,pk);
  int nv=n/16; int reps=(int)(2e9/((double)m*n*k)); if(reps<1)reps=1;
  double best1=1e9,best2=1e9;
  for(int t=0;t<5;t++){
    double t0=now(); for(int r=0;r<reps;r++) stp_bf16_field_product(m,n,ab,k,0,1,k,pk,c,n,0); double t1=now();
    for(int r=0;r<reps;r++) for(int i=0;i<m;i+=R) f32_block(m-i<R?m-i:R,nv,k,a+(size_t)i*k,k,b,n,c2+(size_t)i*n,n); double t2=now();
    if(t1-t0<best1)best1=t1-t0; if(t2-t1<best2)best2=t2-t1; }
  double worst=0; for(int i=0;i<m;i++) for(int o=0;o<n;o++){ double sa=0; for(int j=0;j<k;j++) sa+=fabs(a[i*k+j]*b[j*n+o]); double e=fabs(c2[i*n+o]-c[i*n+o])/sa; if(e>worst)worst=e; }
  printf("m=%d k=%d n=%d  bf16 %.1f GMAC/s  fp32 %.1f GMAC/s  ratio %.2f  error vs fp32 %.2e of sum|ab|\n", m,k,n,
         reps*(double)m*n*k/best1/1e9, reps*(double)m*n*k/best2/1e9, best2/best1, worst);
  return 0;
}

