#ifndef MINIONS_CCURL_SHIM_H
#define MINIONS_CCURL_SHIM_H
#include <dlfcn.h>
#include <stdio.h>
#include <curl/curl.h>

/* libcurl is loaded on first use (dlopen) rather than linked: it brings some thirty shared libraries
   (TLS, Kerberos, LDAP, …) whose loading would cost every engine start time and memory, even one
   that never makes an HTTP request. Every call goes through this table; the variadic setopt/getinfo
   are wrapped with typed functions, which Swift can call. The table is filled once by ccurl_load. */
typedef struct ccurl_api {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  const char *(*easy_strerror)(CURLcode);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
  CURLMcode (*multi_wakeup)(CURLM *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  /* The URL API: the same parser curl connects with, for checking hosts and resolving redirects. */
  CURLU *(*url)(void);
  void (*url_cleanup)(CURLU *);
  CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
  CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
  const char *(*url_strerror)(CURLUcode);
  void (*free)(void *);
} ccurl_api;

/* Loads libcurl into `api`; returns 1, or 0 with a message in `error`. Call once (the Swift side locks). */
static inline int ccurl_load(ccurl_api *api, char *error, size_t error_size) {
  void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) lib = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    snprintf(error, error_size, "libcurl is not installed (%s)", dlerror());
    return 0;
  }
#define CCURL_SYM(field, name) \
  if ((*(void **)(&api->field) = dlsym(lib, name)) == NULL) { snprintf(error, error_size, "libcurl lacks %s", name); return 0; }
  CCURL_SYM(global_init, "curl_global_init")
  CCURL_SYM(easy_init, "curl_easy_init")
  CCURL_SYM(easy_cleanup, "curl_easy_cleanup")
  CCURL_SYM(easy_setopt, "curl_easy_setopt")
  CCURL_SYM(easy_getinfo, "curl_easy_getinfo")
  CCURL_SYM(easy_strerror, "curl_easy_strerror")
  CCURL_SYM(multi_init, "curl_multi_init")
  CCURL_SYM(multi_cleanup, "curl_multi_cleanup")
  CCURL_SYM(multi_add_handle, "curl_multi_add_handle")
  CCURL_SYM(multi_remove_handle, "curl_multi_remove_handle")
  CCURL_SYM(multi_perform, "curl_multi_perform")
  CCURL_SYM(multi_poll, "curl_multi_poll")
  CCURL_SYM(multi_wakeup, "curl_multi_wakeup")
  CCURL_SYM(multi_info_read, "curl_multi_info_read")
  CCURL_SYM(slist_append, "curl_slist_append")
  CCURL_SYM(slist_free_all, "curl_slist_free_all")
  CCURL_SYM(url, "curl_url")
  CCURL_SYM(url_cleanup, "curl_url_cleanup")
  CCURL_SYM(url_set, "curl_url_set")
  CCURL_SYM(url_get, "curl_url_get")
  CCURL_SYM(url_strerror, "curl_url_strerror")
  CCURL_SYM(free, "curl_free")
#undef CCURL_SYM
  return api->global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : (snprintf(error, error_size, "curl_global_init failed"), 0);
}

static inline CURLcode ccurl_setopt_long(const ccurl_api *a, CURL *h, CURLoption o, long v) { return a->easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_string(const ccurl_api *a, CURL *h, CURLoption o, const char *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_pointer(const ccurl_api *a, CURL *h, CURLoption o, void *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_slist(const ccurl_api *a, CURL *h, CURLoption o, struct curl_slist *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_off_t(const ccurl_api *a, CURL *h, CURLoption o, curl_off_t v) { return a->easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_write_callback(const ccurl_api *a, CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
  return a->easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}
static inline CURLcode ccurl_setopt_header_callback(const ccurl_api *a, CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
  return a->easy_setopt(h, CURLOPT_HEADERFUNCTION, f);
}
static inline CURLcode ccurl_setopt_xferinfo_callback(const ccurl_api *a, CURL *h,
                                                      int (*f)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) {
  return a->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}
static inline CURLcode ccurl_setopt_opensocket_callback(const ccurl_api *a, CURL *h,
                                                        curl_socket_t (*f)(void *, curlsocktype, struct curl_sockaddr *)) {
  return a->easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, f);
}
static inline CURLcode ccurl_getinfo_long(const ccurl_api *a, CURL *h, CURLINFO i, long *v) { return a->easy_getinfo(h, i, v); }
static inline CURLcode ccurl_getinfo_string(const ccurl_api *a, CURL *h, CURLINFO i, char **v) { return a->easy_getinfo(h, i, v); }
#endif
