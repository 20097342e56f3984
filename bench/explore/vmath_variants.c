/* bench/explore/README.md: how to build and run, and what it measured */
#include "vmath_variants.h"
#include <stdio.h>
#include <time.h>
#include <Random123/philox.h>
double buf[N]; uint64_t raw[N];
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
__attribute__((noinline)) void gen_raw(uint64_t id, uint64_t c0){
  philox4x64_key_t k={{42,id}};
  for(int c=0;c<N/4;c++){ philox4x64_ctr_t ct={{c0,0,2,(uint64_t)c}}; philox4x64_ctr_t r = philox4x64(ct,k); memcpy(raw+4*c,r.v,32);} }
__attribute__((noinline)) void gen_raw32(uint64_t id, uint64_t c0){
  philox4x32_key_t k={{42,(uint32_t)id}};
  for(int c=0;c<N/2;c++){ philox4x32_ctr_t ct={{(uint32_t)c0,0,2,(uint32_t)c}}; philox4x32_ctr_t r = philox4x32(ct,k); memcpy(raw+2*c,r.v,16);} }
__attribute__((noinline)) void tr_scalar(void){
  for(int i=0;i<N;i+=2){double rad=sqrt(-2*log(u01(raw[i]))), ang=6.283185307179586*u01(raw[i+1]); buf[i]=rad*cos(ang); buf[i+1]=rad*sin(ang);} }
#define TR2(LOG,SC) \
  for(int i=0;i<N/2;i+=2){ double ua[2],ub[2]; for(int j=0;j<2;j++){ua[j]=u01(raw[i+j]);ub[j]=2*u01(raw[N/2+i+j]);} \
    __m128d rad=_mm_sqrt_pd(_mm_mul_pd(_mm_set1_pd(-2.0),LOG(_mm_loadu_pd(ua)))); \
    Sleef___m128d_2 sc=SC(_mm_loadu_pd(ub)); \
    _mm_storeu_pd(buf+i,_mm_mul_pd(rad,sc.y)); _mm_storeu_pd(buf+N/2+i,_mm_mul_pd(rad,sc.x)); }
__attribute__((noinline)) void tr_sse2_cinz35(void){ TR2(Sleef_cinz_logd2_u35sse2,Sleef_cinz_sincospid2_u35sse2) }
__attribute__((noinline)) void tr_purec_cinz35(void){
  for(int i=0;i<N/2;i++){ double rad=sqrt(-2.0*Sleef_cinz_logd1_u35purec(u01(raw[i]))); Sleef_double_2 sc=Sleef_cinz_sincospid1_u35purec(2*u01(raw[N/2+i])); buf[i]=rad*sc.y; buf[N/2+i]=rad*sc.x; } }
void tr_avx512_cinz35(void), tr_avx512_cinz10(void), tr_avx512_finz35(void), tr_avx512_finz10(void), tr_avx2_finz35(void), tr_avx_cinz35(void);
typedef void (*fn)(void);
double ref[N];
static void bench(const char*name, fn f, int cmp){
  f(); if(cmp==1) memcpy(ref,buf,sizeof ref); int same = cmp==2 ? memcmp(ref,buf,sizeof ref)==0 : -1;
  double best=1e9; for(int t=0;t<5;t++){ double t0=now(); for(int r=0;r<20000;r++) f(); double el=(now()-t0)/20000/N*1e9; if(el<best)best=el;}
  printf("%-22s %6.2f ns/normal  same-as-ref=%d\n",name,best,same);
}
static void g64(void){gen_raw(7,3);} static void g32(void){gen_raw32(7,3);}
int main(){
  bench("philox4x64 raw",g64,0); bench("philox4x32 raw(2/dbl)",g32,0);
  gen_raw(7,3);
  bench("scalar libm",tr_scalar,0);
  bench("purec cinz35",tr_purec_cinz35,1);
  bench("sse2 cinz35",tr_sse2_cinz35,2);
  bench("avx cinz35",tr_avx_cinz35,2);
  bench("avx512 cinz35",tr_avx512_cinz35,2);
  bench("avx2 finz35",tr_avx2_finz35,0);
  bench("avx512 finz35",tr_avx512_finz35,0);
  bench("avx512 cinz10/05",tr_avx512_cinz10,0);
  bench("avx512 finz10/05",tr_avx512_finz10,0);
}
