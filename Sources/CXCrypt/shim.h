#ifndef MINIONS_CXCRYPT_SHIM_H
#define MINIONS_CXCRYPT_SHIM_H
#include <crypt.h>
#endif
