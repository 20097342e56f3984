/* SHA-256 (FIPS 180-4) of a byte stream, written from the standard: used to
 * record the content hash of a target file in the results, so a study stays
 * checkable (`sha256sum FILE`) after the file is gone. */
#ifndef RTK_APP_SHA256_H
#define RTK_APP_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct rtk_sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes so far */
  unsigned char buf[64];
  size_t nbuf;
} rtk_sha256;

void rtk_sha256_init(rtk_sha256 *s);
void rtk_sha256_update(rtk_sha256 *s, const void *data, size_t n);
void rtk_sha256_hex(rtk_sha256 *s, char hex[65]); /* finishes s */

#endif
