#pragma once
/* The C interface of libomni_sentencepiece, the one place that links libsentencepiece.
 *
 * Why a separate library behind a C interface: Debian's libsentencepiece carries its own copy
 * of protobuf-lite and exports its symbols, while LibTorch loads the system libprotobuf; in
 * one symbol namespace each calls into the other's protobuf and the process crashes while
 * loading. libomni_flux_kontext therefore dlopen()s this library with RTLD_LOCAL and
 * RTLD_DEEPBIND, so that sentencepiece binds to its own protobuf and nobody else sees it. The
 * C interface also keeps std::string (and the _GLIBCXX_USE_CXX11_ABI setting) off the border.
 *
 * Errors: functions returning int give 0 on success and otherwise write a NUL-terminated
 * message into `error` (at most `error_size` bytes). Buffers they allocate are released with
 * omni_spm_free_buffer. */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct omni_spm omni_spm;

int omni_spm_load(const char* path, omni_spm** model, char* error, size_t error_size);
void omni_spm_free(omni_spm* model);
void omni_spm_free_buffer(void* buffer);

int omni_spm_piece_count(const omni_spm* model);
int omni_spm_unk_id(const omni_spm* model);
/* The id of a piece; unknown pieces give the unk id, as in sentencepiece. */
int omni_spm_piece_to_id(const omni_spm* model, const char* piece, size_t size);
/* The piece of an id, valid while the model lives; NULL when out of range. */
const char* omni_spm_id_to_piece(const omni_spm* model, int id, size_t* size);

int omni_spm_encode(const omni_spm* model, const char* text, size_t size, int** ids,
                    size_t* count, char* error, size_t error_size);
int omni_spm_decode(const omni_spm* model, const int* ids, size_t count, char** text,
                    size_t* size, char* error, size_t error_size);

/* Trains a model from `count` sentences with sentencepiece's command-line `options`. */
int omni_spm_train(const char* options, const char* const* sentences, const size_t* sizes,
                   size_t count, char** model, size_t* model_size, char* error,
                   size_t error_size);

#ifdef __cplusplus
}
#endif
