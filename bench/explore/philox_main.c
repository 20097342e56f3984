/* bench/explore/README.md: how to build and run, and what it measured */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <Random123/philox.h>
void philox8(uint64_t k0, uint64_t k1, uint64_t c0, uint64_t c1, uint64_t c2, uint64_t chunk0, uint64_t *out);
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
uint64_t A[128], B[128];
int main(){
  philox4x64_key_t k={{42,7}};
  for(int c=0;c<32;c++){ philox4x64_ctr_t ct={{3,0,2,(uint64_t)c}}; philox4x64_ctr_t r = philox4x64(ct,k); memcpy(A+4*c,r.v,32);}
  for(int c=0;c<32;c+=8) philox8(42,7,3,0,2,c,B+4*c);
  printf("equal=%d\n", memcmp(A,B,sizeof A)==0);
  double best=1e9; for(int t=0;t<5;t++){double t0=now(); for(int r=0;r<50000;r++){ for(int c=0;c<32;c+=8) philox8(42,7,3,0,2,c,B+4*c); __asm__ volatile(""::"r"(B):"memory");} double el=(now()-t0)/50000/128*1e9; if(el<best)best=el;}
  printf("avx512 philox %.2f ns/word\n",best);
  best=1e9; for(int t=0;t<5;t++){double t0=now(); for(int r=0;r<50000;r++){ for(int c=0;c<32;c++){ philox4x64_ctr_t ct={{3,0,2,(uint64_t)c}}; philox4x64_ctr_t q = philox4x64(ct,k); memcpy(A+4*c,q.v,32);} __asm__ volatile(""::"r"(A):"memory");} double el=(now()-t0)/50000/128*1e9; if(el<best)best=el;}
  printf("scalar philox %.2f ns/word\n",best);
}
