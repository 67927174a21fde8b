#ifndef MINIONS_CCRYPTO_SHIM_H
#define MINIONS_CCRYPTO_SHIM_H
/* HMAC_CTX is deprecated in OpenSSL 3 but remains its fastest keyed MAC: re-initialising with a NULL
   key copies the prepared digest states, where EVP_MAC_init re-reads its parameters each time. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/err.h>

/// A keyed HMAC-SHA256 context of the classic API (see above).
static inline HMAC_CTX *ccrypto_hmac_ctx_new(const unsigned char *key, int keylen) {
  HMAC_CTX *ctx = HMAC_CTX_new();
  if (ctx == NULL) return NULL;
  if (HMAC_Init_ex(ctx, key, keylen, EVP_sha256(), NULL) != 1) {
    HMAC_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static inline int ccrypto_hmac_ctx_compute(HMAC_CTX *ctx, const unsigned char *data, size_t len, unsigned char out[32]) {
  unsigned int outlen = 0;
  if (HMAC_Init_ex(ctx, NULL, 0, NULL, NULL) != 1) return 0;
  if (HMAC_Update(ctx, data, len) != 1) return 0;
  if (HMAC_Final(ctx, out, &outlen) != 1) return 0;
  return outlen == 32;
}

static inline void ccrypto_hmac_ctx_free(HMAC_CTX *ctx) { HMAC_CTX_free(ctx); }
#endif
