/* Lorekeeper's decode kernel: a LLaMA GGUF (4- or 8-bit linears) with a LoRA adapter per row.
 *
 * One call runs any set of tokens through the model: a prompt's tokens, or one token of each of
 * up to `max_slots` rows, each row with its own adapter (or none), in KV cells of its own. The
 * quantized weights are read once per call for all its tokens (a pass over the weights serves
 * every row, whatever its adapter), and each token's arithmetic is the same whoever shares the
 * call with it: a row batched with others equals that row alone, bit for bit.
 *
 * Weights are repacked (bot/generation/native.py) into tiles of 16 outputs x 32 inputs: the
 * unsigned 4- or 8-bit values laid out so that one AVX-512 VNNI `vpdpbusd` multiplies 4 inputs
 * of 16 outputs by 4 int8 activations of a token, plus an f16 scale `d` and offset `m` per output
 * and block (value = d * q + m: Q4_1 as it is, Q4_0 with m = -8d, Q8_0 as q + 128 with
 * m = -128d). Activations are quantized to int8 per block of 32 (scale s); a block's dot product
 * is d * s * sum(q * a) + m * s * sum(a). The LoRA terms run in f32: y += scale * B (A x).
 * Built with `-march=native`; a machine without AVX-512 VNNI gets the portable loops (the same
 * arithmetic, slower). */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#define LK_VNNI 1
#else
#define LK_VNNI 0
#endif

enum { WQ, WK, WV, WO, WGATE, WUP, WDOWN, N_MATS };
#define TILE_OUT 16
#define BLOCK 32
#define CHUNK 8 /* tokens per pass over a tile */

typedef struct {
    int rows, cols, bits; /* out, in, 4 or 8 */
    const uint8_t *q;     /* [rows/16][cols/32][bits == 4 ? 256 : 512] */
    const uint16_t *d;    /* [rows/16][cols/32][16] f16 */
    const uint16_t *m;
} QMat;

#define MAX_RANK 64
#define LORA_CHUNK 8 /* tokens per pass over an adapter's matrices */
typedef struct {
    int rank, pad, bf16; /* pad: rank rounded up to 16, the extra ranks zero; bf16: the values
                          * are bfloat16 (what training saves), else f32 */
    float scale;
    const void *at;   /* A transposed: [cols][pad] */
    const void *bt;   /* B in tiles of 16 outputs: [rows / 16][pad][16] */
} Lora;

typedef struct {
    int n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, max_slots, n_ctx, max_tokens;
    int n_adapters;
    float eps;
    QMat *mats;            /* [n_layer][N_MATS] */
    const float **attn_norm, **ffn_norm, *out_norm;
    QMat lm_head;
    const uint8_t *embd;   /* token embedding rows as stored: Q8_0 blocks (34 bytes) */
    Lora *loras;           /* [n_adapters][n_layer][N_MATS]; rank 0 = none */
    float *rope_cos, *rope_sin; /* [n_ctx][head_dim / 2] */
    float *kt, *v;         /* [slot][layer][kv_head][n_ctx / 16][head_dim][16], [slot][layer][n_ctx][kv_dim] */
    /* scratch, sized for max_tokens */
    float *x, *h, *q, *k, *vv, *att, *gate, *up, *tmp, *scores, *lo;
    int32_t *lo_tokens;
    int8_t *a8;
    float *as, *asa;
} Model;

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) { man <<= 1; exp--; }
            bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000 | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* ---- vector helpers (fixed summation order, so every token is computed the same way) ---- */

static float dot(const float *a, const float *b, int n) {
#if LK_VNNI
    __m512 acc = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    float s = _mm512_reduce_add_ps(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
#else
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
#endif
}

#if LK_VNNI
/* e^x, relative error about 2e-7 (0 below -87, inf above 88) */
static inline __m512 exp_ps(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_mul_ps(_mm512_sub_ps(t, n), _mm512_set1_ps(0.69314718055994531f));
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
#endif

/* gate = silu(gate) * up */
static void swiglu(float *gate, const float *up, size_t n) {
    size_t i = 0;
#if LK_VNNI
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        const __m512 g = _mm512_loadu_ps(gate + i);
        const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
        _mm512_storeu_ps(gate + i, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)),
                                                 _mm512_loadu_ps(up + i)));
    }
#endif
    for (; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    float ss = dot(x, x, n);
    float r = 1.0f / sqrtf(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * r * w[i];
}

/* int8 per block of 32: a = round(x / s), s = max|x| / 127; sa = s * sum(a) */
static void quantize(const float *x, int n, int8_t *a, float *s, float *sa) {
#if LK_VNNI
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int b = 0; b < n / BLOCK; b++) {
        const __m512 x0 = _mm512_loadu_ps(x + b * BLOCK), x1 = _mm512_loadu_ps(x + b * BLOCK + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, x0),
                                                              _mm512_andnot_ps(sign, x1)));
        const __m512 inv = _mm512_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, inv));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, inv));
        _mm_storeu_si128((__m128i *)(a + b * BLOCK), _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(a + b * BLOCK + 16), _mm512_cvtsepi32_epi8(q1));
        s[b] = amax / 127.0f;
        sa[b] = s[b] * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
#else
    for (int b = 0; b < n / BLOCK; b++) {
        const float *xb = x + b * BLOCK;
        float amax = 0;
        for (int i = 0; i < BLOCK; i++) amax = fmaxf(amax, fabsf(xb[i]));
        float scale = amax / 127.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            int v = (int)nearbyintf(xb[i] * inv);
            a[b * BLOCK + i] = (int8_t)v;
            sum += v;
        }
        s[b] = scale;
        sa[b] = scale * (float)sum;
    }
#endif
}

/* ---- the quantized matrix product: out[t][rows] = W x_t for nt tokens, one output tile ---- */

static inline __attribute__((always_inline)) void tile_product(
    const QMat *w, int g, const int nt, const int8_t *a, const float *s, const float *sa,
    float *out, int out_stride) {
    const int nb = w->cols / BLOCK;
#if LK_VNNI
    __m512 acc[CHUNK];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(0x0f);
    for (int b = 0; b < nb; b++) {
        __m512i wv[8];
        const size_t tile = (size_t)g * nb + b;
        if (w->bits == 4) {
            const uint8_t *p = w->q + tile * 256;
            _mm_prefetch((const char *)(p + 1024), _MM_HINT_T0);
            _mm_prefetch((const char *)(p + 1088), _MM_HINT_T0);
            _mm_prefetch((const char *)(p + 1152), _MM_HINT_T0);
            _mm_prefetch((const char *)(p + 1216), _MM_HINT_T0);
            for (int k = 0; k < 4; k++) {
                __m512i packed = _mm512_loadu_si512(p + 64 * k);
                wv[2 * k] = _mm512_and_si512(packed, low);
                wv[2 * k + 1] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low);
            }
        } else {
            const uint8_t *p = w->q + tile * 512;
            for (int j = 0; j < 8; j++) wv[j] = _mm512_loadu_si512(p + 64 * j);
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w->d + tile * 16)));
        const __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w->m + tile * 16)));
        for (int t = 0; t < nt; t++) {
            const int32_t *at = (const int32_t *)(a + (size_t)t * w->cols + b * BLOCK);
            __m512i i0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[0], _mm512_set1_epi32(at[0]));
            __m512i i1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[1], _mm512_set1_epi32(at[1]));
            i0 = _mm512_dpbusd_epi32(i0, wv[2], _mm512_set1_epi32(at[2]));
            i1 = _mm512_dpbusd_epi32(i1, wv[3], _mm512_set1_epi32(at[3]));
            i0 = _mm512_dpbusd_epi32(i0, wv[4], _mm512_set1_epi32(at[4]));
            i1 = _mm512_dpbusd_epi32(i1, wv[5], _mm512_set1_epi32(at[5]));
            i0 = _mm512_dpbusd_epi32(i0, wv[6], _mm512_set1_epi32(at[6]));
            i1 = _mm512_dpbusd_epi32(i1, wv[7], _mm512_set1_epi32(at[7]));
            const __m512 sum = _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1));
            const float *st = s + (size_t)t * nb, *sat = sa + (size_t)t * nb;
            acc[t] = _mm512_fmadd_ps(sum, _mm512_mul_ps(d, _mm512_set1_ps(st[b])), acc[t]);
            acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(sat[b]), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(out + (size_t)t * out_stride + g * TILE_OUT, acc[t]);
#else
    float acc[CHUNK][TILE_OUT] = {{0}};
    for (int b = 0; b < nb; b++) {
        const size_t tile = (size_t)g * nb + b;
        for (int i = 0; i < TILE_OUT; i++) {
            const float d = f16_to_f32(w->d[tile * 16 + i]), m = f16_to_f32(w->m[tile * 16 + i]);
            for (int t = 0; t < nt; t++) {
                const int8_t *at = a + (size_t)t * w->cols + b * BLOCK;
                int sum = 0;
                for (int j = 0; j < 8; j++) {
                    for (int c = 0; c < 4; c++) {
                        int q;
                        if (w->bits == 4) {
                            uint8_t byte = w->q[tile * 256 + 64 * (j / 2) + 4 * i + c];
                            q = (j % 2) ? byte >> 4 : byte & 0x0f;
                        } else {
                            q = w->q[tile * 512 + 64 * j + 4 * i + c];
                        }
                        sum += q * at[4 * j + c];
                    }
                }
                const float *st = s + (size_t)t * nb, *sat = sa + (size_t)t * nb;
                acc[t][i] = fmaf((float)sum, d * st[b], acc[t][i]);
                acc[t][i] = fmaf(m, sat[b], acc[t][i]);
            }
        }
    }
    for (int t = 0; t < nt; t++)
        memcpy(out + (size_t)t * out_stride + g * TILE_OUT, acc[t], sizeof acc[t]);
#endif
}

#define TILE_CASE(N) case N: tile_product(w, g, N, a8, s, sa, out, w->rows); break;

/* out[t][w->rows] = W x_t for n tokens, whose activations are quantized in a8/s/sa */
static void matmul(const QMat *w, int n, const int8_t *a8_all, const float *s_all,
                   const float *sa_all, float *out_all) {
    const int nb = w->cols / BLOCK;
    /* a chunk's activations stay in L1 while the matrix streams past them */
    for (int t0 = 0; t0 < n; t0 += CHUNK) {
        const int nt = n - t0 < CHUNK ? n - t0 : CHUNK;
        const int8_t *a8 = a8_all + (size_t)t0 * w->cols;
        const float *s = s_all + (size_t)t0 * nb, *sa = sa_all + (size_t)t0 * nb;
        float *out = out_all + (size_t)t0 * w->rows;
        for (int g = 0; g < w->rows / TILE_OUT; g++) {
            switch (nt) {
                TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4)
                TILE_CASE(5) TILE_CASE(6) TILE_CASE(7) TILE_CASE(8)
            }
        }
    }
}

/* element i of a LoRA matrix as f32 (bf16 is the top half of an f32: exact) */
static inline float lora_value(const Lora *lo, const void *m, size_t i) {
    if (!lo->bf16) return ((const float *)m)[i];
    const uint32_t bits = (uint32_t)((const uint16_t *)m)[i] << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#if LK_VNNI
static inline __m512 lora_load(const Lora *lo, const void *m, size_t i) {
    if (!lo->bf16) return _mm512_loadu_ps((const float *)m + i);
    const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)m + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#endif

/* mid[j][0..pad) = scale * A x_tok[j] for nt tokens: each 16 ranks of A's column c are read once
 * for all nt tokens. A token's sums run over c in the same order whatever nt is (two chains,
 * even and odd c, added at the end), so that a row batched equals the row alone. */
static inline __attribute__((always_inline)) void lora_down(
    const Lora *lo, const float *x, int cols, const int32_t *tok, const int nt, float *mid) {
    const int pad = lo->pad;
#if LK_VNNI
    for (int r0 = 0; r0 < pad; r0 += 16) {
        __m512 even[LORA_CHUNK], odd[LORA_CHUNK];
        for (int j = 0; j < nt; j++) even[j] = odd[j] = _mm512_setzero_ps();
        for (int c = 0; c < cols; c += 2) {
            const __m512 a0 = lora_load(lo, lo->at, (size_t)c * pad + r0);
            const __m512 a1 = lora_load(lo, lo->at, (size_t)(c + 1) * pad + r0);
            for (int j = 0; j < nt; j++) {
                const float *xj = x + (size_t)tok[j] * cols + c;
                even[j] = _mm512_fmadd_ps(_mm512_set1_ps(xj[0]), a0, even[j]);
                odd[j] = _mm512_fmadd_ps(_mm512_set1_ps(xj[1]), a1, odd[j]);
            }
        }
        for (int j = 0; j < nt; j++)
            _mm512_storeu_ps(mid + j * pad + r0, _mm512_mul_ps(_mm512_add_ps(even[j], odd[j]),
                                                               _mm512_set1_ps(lo->scale)));
    }
#else
    for (int j = 0; j < nt; j++) {
        const float *xj = x + (size_t)tok[j] * cols;
        for (int r = 0; r < pad; r++) {
            float even = 0, odd = 0;
            for (int c = 0; c < cols; c += 2) {
                even = fmaf(xj[c], lora_value(lo, lo->at, (size_t)c * pad + r), even);
                odd = fmaf(xj[c + 1], lora_value(lo, lo->at, (size_t)(c + 1) * pad + r), odd);
            }
            mid[j * pad + r] = (even + odd) * lo->scale;
        }
    }
#endif
}

/* y_tok[j] += B mid[j] for nt tokens, a tile of 16 outputs at a time: the tile's ranks are read
 * once for all nt tokens, and each output adds the ranks in order. */
static inline __attribute__((always_inline)) void lora_up(
    const Lora *lo, const float *mid, const int32_t *tok, const int nt, float *y, int rows) {
    const int pad = lo->pad;
    for (int ob = 0; ob < rows / 16; ob++) {
        const size_t tile = (size_t)ob * pad * 16;
#if LK_VNNI
        __m512 acc[LORA_CHUNK];
        for (int j = 0; j < nt; j++) acc[j] = _mm512_loadu_ps(y + (size_t)tok[j] * rows + ob * 16);
        for (int r = 0; r < lo->rank; r++) {
            const __m512 bv = lora_load(lo, lo->bt, tile + (size_t)r * 16);
            for (int j = 0; j < nt; j++)
                acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(mid[j * pad + r]), bv, acc[j]);
        }
        for (int j = 0; j < nt; j++) _mm512_storeu_ps(y + (size_t)tok[j] * rows + ob * 16, acc[j]);
#else
        for (int j = 0; j < nt; j++) {
            float *yj = y + (size_t)tok[j] * rows + ob * 16;
            for (int i = 0; i < 16; i++)
                for (int r = 0; r < lo->rank; r++)
                    yj[i] = fmaf(mid[j * pad + r], lora_value(lo, lo->bt, tile + (size_t)r * 16 + i), yj[i]);
        }
#endif
    }
}

#define LORA_CASE(N) case N: lora_down(lo, x, cols, tok, N, mid); lora_up(lo, mid, tok, N, y, rows); break;

/* y_t += scale * B (A x_t) for each token under an adapter that adapts this matrix. The tokens
 * of one adapter are done together, up to LORA_CHUNK at a time, so its matrices are read once
 * per chunk, not per token. */
static void lora_add(const Model *md, int layer, int mat, int n, const int32_t *adapters,
                     const float *x, int cols, float *y, int rows) {
    for (int ad = 0; ad < md->n_adapters; ad++) {
        const Lora *lo = &md->loras[((size_t)ad * md->n_layer + layer) * N_MATS + mat];
        if (lo->rank == 0) continue;
        int m = 0;
        for (int t = 0; t < n; t++) if (adapters[t] == ad) md->lo_tokens[m++] = t;
        float *mid = md->lo; /* [LORA_CHUNK][pad] */
        for (int j0 = 0; j0 < m; j0 += LORA_CHUNK) {
            const int32_t *tok = md->lo_tokens + j0;
            switch (m - j0 < LORA_CHUNK ? m - j0 : LORA_CHUNK) {
                LORA_CASE(1) LORA_CASE(2) LORA_CASE(3) LORA_CASE(4)
                LORA_CASE(5) LORA_CASE(6) LORA_CASE(7) LORA_CASE(8)
            }
        }
    }
}

static void rope(float *v, int heads, int head_dim, const float *cs, const float *sn) {
    for (int h = 0; h < heads; h++) {
        float *p = v + h * head_dim;
        for (int i = 0; i < head_dim / 2; i++) {
            const float a = p[2 * i], b = p[2 * i + 1];
            p[2 * i] = a * cs[i] - b * sn[i];
            p[2 * i + 1] = a * sn[i] + b * cs[i];
        }
    }
}

/* One token's attention over its row's cells 0..pos, every head. Keys are kept in blocks of
 * 16 positions ([block][head_dim][16]), so that a block's scores are 16 lanes of one sum over
 * the head's dimensions and a new key lands in lines already cached. */
static void attend(const Model *md, int layer, int slot, int pos, const float *q, float *out) {
    const int hd = md->n_embd / md->n_head, group = md->n_head / md->n_head_kv;
    const int kv_dim = md->n_head_kv * hd, ctx = md->n_ctx, n = pos + 1;
    const float scale = 1.0f / sqrtf((float)hd);
    for (int kh = 0; kh < md->n_head_kv; kh++) {
        const float *kb = md->kt + (((size_t)slot * md->n_layer + layer) * md->n_head_kv + kh) *
                                       (size_t)ctx * hd;
        const float *vs = md->v + ((size_t)slot * md->n_layer + layer) * (size_t)ctx * kv_dim + kh * hd;
        for (int j = 0; j < group; j++) {
            const float *qh = q + (kh * group + j) * hd;
            float *sc = md->scores + (size_t)j * (ctx + 16);
#if LK_VNNI
            __m512 mx = _mm512_set1_ps(-INFINITY);
            for (int p = 0; p < n; p += 16) {
                const __mmask16 mask = n - p >= 16 ? 0xffff : (__mmask16)((1u << (n - p)) - 1);
                const float *blk = kb + (size_t)(p / 16) * hd * 16;
                __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
                for (int dd = 0; dd < hd; dd += 2) {
                    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(qh[dd]), _mm512_loadu_ps(blk + dd * 16), acc0);
                    acc1 = _mm512_fmadd_ps(_mm512_set1_ps(qh[dd + 1]), _mm512_loadu_ps(blk + dd * 16 + 16), acc1);
                }
                const __m512 v = _mm512_mul_ps(_mm512_add_ps(acc0, acc1), _mm512_set1_ps(scale));
                _mm512_mask_storeu_ps(sc + p, mask, v);
                mx = _mm512_mask_max_ps(mx, mask, mx, v);
            }
            const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
            __m512 tot = _mm512_setzero_ps();
            for (int p = 0; p < n; p += 16) {
                const __mmask16 mask = n - p >= 16 ? 0xffff : (__mmask16)((1u << (n - p)) - 1);
                const __m512 e = _mm512_maskz_mov_ps(mask, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, sc + p), top)));
                _mm512_mask_storeu_ps(sc + p, mask, e);
                tot = _mm512_add_ps(tot, e);
            }
            const float inv = 1.0f / _mm512_reduce_add_ps(tot);
#else
            float top = -INFINITY;
            for (int p = 0; p < n; p++) {
                const float *blk = kb + (size_t)(p / 16) * hd * 16 + p % 16;
                float acc = 0;
                for (int dd = 0; dd < hd; dd++) acc += qh[dd] * blk[dd * 16];
                sc[p] = acc * scale;
                top = fmaxf(top, sc[p]);
            }
            float tot = 0;
            for (int p = 0; p < n; p++) { sc[p] = expf(sc[p] - top); tot += sc[p]; }
            const float inv = 1.0f / tot;
#endif
            for (int p = 0; p < n; p++) sc[p] *= inv;
        }
        for (int j = 0; j < group; j++) {
            float *oh = out + (kh * group + j) * hd;
            const float *w = md->scores + (size_t)j * (ctx + 16);
            int d0 = 0;
#if LK_VNNI
            for (; d0 + 64 <= hd; d0 += 64) {
                __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
                for (int p = 0; p < n; p++) {
                    const float *vp = vs + (size_t)p * kv_dim + d0;
                    const __m512 wp = _mm512_set1_ps(w[p]);
                    o0 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp), o0);
                    o1 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp + 16), o1);
                    o2 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp + 32), o2);
                    o3 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp + 48), o3);
                }
                _mm512_storeu_ps(oh + d0, o0);
                _mm512_storeu_ps(oh + d0 + 16, o1);
                _mm512_storeu_ps(oh + d0 + 32, o2);
                _mm512_storeu_ps(oh + d0 + 48, o3);
            }
#endif
            for (; d0 < hd; d0++) {
                float o = 0;
                for (int p = 0; p < n; p++) o += w[p] * vs[(size_t)p * kv_dim + d0];
                oh[d0] = o;
            }
        }
    }
}

/* a token's key and value at its row's position */
static void store_kv(Model *md, int layer, int slot, int pos, const float *k, const float *v) {
    const int hd = md->n_embd / md->n_head, kv_dim = md->n_head_kv * hd, ctx = md->n_ctx;
    for (int kh = 0; kh < md->n_head_kv; kh++) {
        float *blk = md->kt + (((size_t)slot * md->n_layer + layer) * md->n_head_kv + kh) *
                                  (size_t)ctx * hd + (size_t)(pos / 16) * hd * 16 + pos % 16;
        for (int dd = 0; dd < hd; dd++) blk[dd * 16] = k[kh * hd + dd];
    }
    memcpy(md->v + (((size_t)slot * md->n_layer + layer) * ctx + pos) * kv_dim, v,
           sizeof(float) * kv_dim);
}

static void *alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    memset(p, 0, n);
    return p;
}

void lk_free(Model *md) {
    if (!md) return;
    free(md->mats); free(md->attn_norm); free(md->ffn_norm); free(md->loras);
    free(md->rope_cos); free(md->rope_sin); free(md->kt); free(md->v);
    free(md->x); free(md->h); free(md->q); free(md->k); free(md->vv); free(md->att);
    free(md->gate); free(md->up); free(md->tmp); free(md->scores); free(md->lo);
    free(md->lo_tokens);
    free(md->a8); free(md->as); free(md->asa);
    free(md);
}

/* dims: n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, max_slots, n_ctx, max_tokens,
 * n_adapters; returns NULL when out of memory */
Model *lk_create(const int32_t *dims, float eps, float rope_base) {
    Model *md = calloc(1, sizeof(Model));
    if (!md) return NULL;
    md->n_layer = dims[0]; md->n_embd = dims[1]; md->n_head = dims[2]; md->n_head_kv = dims[3];
    md->n_ff = dims[4]; md->n_vocab = dims[5]; md->max_slots = dims[6]; md->n_ctx = dims[7];
    md->max_tokens = dims[8]; md->n_adapters = dims[9]; md->eps = eps;
    if (md->n_ctx % 16 || md->n_embd % md->n_head || md->n_head % md->n_head_kv || md->n_embd % 32 ||
        md->n_ff % 32) {
        free(md);
        return NULL;
    }
    const int hd = md->n_embd / md->n_head, kv_dim = md->n_head_kv * hd, T = md->max_tokens;
    const int wide = md->n_ff > md->n_embd ? md->n_ff : md->n_embd;
    md->mats = calloc((size_t)md->n_layer * N_MATS, sizeof(QMat));
    md->attn_norm = calloc(md->n_layer, sizeof(float *));
    md->ffn_norm = calloc(md->n_layer, sizeof(float *));
    md->loras = calloc((size_t)(md->n_adapters ? md->n_adapters : 1) * md->n_layer * N_MATS, sizeof(Lora));
    md->rope_cos = alloc(sizeof(float) * md->n_ctx * hd / 2);
    md->rope_sin = alloc(sizeof(float) * md->n_ctx * hd / 2);
    const size_t cells = (size_t)md->max_slots * md->n_layer * md->n_ctx * kv_dim;
    md->kt = alloc(sizeof(float) * cells);
    md->v = alloc(sizeof(float) * cells);
    md->x = alloc(sizeof(float) * T * md->n_embd);
    md->h = alloc(sizeof(float) * T * wide);
    md->q = alloc(sizeof(float) * T * md->n_embd);
    md->k = alloc(sizeof(float) * T * kv_dim);
    md->vv = alloc(sizeof(float) * T * kv_dim);
    md->att = alloc(sizeof(float) * T * md->n_embd);
    md->gate = alloc(sizeof(float) * T * md->n_ff);
    md->up = alloc(sizeof(float) * T * md->n_ff);
    md->tmp = alloc(sizeof(float) * (size_t)(T > md->max_slots ? T : md->max_slots) * md->n_embd);
    md->scores = alloc(sizeof(float) * (md->n_ctx + 16) * (md->n_head / md->n_head_kv));
    md->lo = alloc(sizeof(float) * T * MAX_RANK);
    md->lo_tokens = alloc(sizeof(int32_t) * T);
    md->a8 = alloc((size_t)T * wide);
    md->as = alloc(sizeof(float) * T * wide / BLOCK);
    md->asa = alloc(sizeof(float) * T * wide / BLOCK);
    if (!md->mats || !md->attn_norm || !md->ffn_norm || !md->loras || !md->rope_cos ||
        !md->rope_sin || !md->kt || !md->v || !md->x || !md->h || !md->q || !md->k || !md->vv ||
        !md->att || !md->gate || !md->up || !md->tmp || !md->scores || !md->lo || !md->lo_tokens || !md->a8 ||
        !md->as || !md->asa) {
        lk_free(md);
        return NULL;
    }
    for (int p = 0; p < md->n_ctx; p++) {
        for (int i = 0; i < hd / 2; i++) {
            const double theta = p * pow(rope_base, -2.0 * i / hd);
            md->rope_cos[p * hd / 2 + i] = (float)cos(theta);
            md->rope_sin[p * hd / 2 + i] = (float)sin(theta);
        }
    }
    return md;
}

void lk_set_matrix(Model *md, int layer, int mat, int rows, int cols, int bits,
                   const uint8_t *q, const uint16_t *d, const uint16_t *m) {
    QMat *w = layer < 0 ? &md->lm_head : &md->mats[(size_t)layer * N_MATS + mat];
    w->rows = rows; w->cols = cols; w->bits = bits; w->q = q; w->d = d; w->m = m;
}

void lk_set_norms(Model *md, int layer, const float *attn_norm, const float *ffn_norm) {
    if (layer < 0) { md->out_norm = attn_norm; return; }
    md->attn_norm[layer] = attn_norm;
    md->ffn_norm[layer] = ffn_norm;
}

void lk_set_embedding(Model *md, const uint8_t *q8_0_rows) { md->embd = q8_0_rows; }

/* at: A transposed, [cols][pad]; bt: B in tiles, [rows / 16][pad][16]; pad = rank rounded up to
 * 16, with zeros. Returns 0, or -1 for a rank over MAX_RANK, a wrong pad or an index out of
 * range. */
int lk_set_lora(Model *md, int adapter, int layer, int mat, int rank, int pad, float scale,
                int bf16, const void *at, const void *bt) {
    if (rank < 0 || rank > MAX_RANK || pad != (rank + 15) / 16 * 16 || adapter < 0 ||
        adapter >= md->n_adapters || layer < 0 || layer >= md->n_layer || mat < 0 || mat >= N_MATS)
        return -1;
    Lora *lo = &md->loras[((size_t)adapter * md->n_layer + layer) * N_MATS + mat];
    lo->rank = rank; lo->pad = pad; lo->scale = scale; lo->bf16 = bf16; lo->at = at; lo->bt = bt;
    return 0;
}

int lk_has_vnni(void) { return LK_VNNI; }

/* The bound of the integer products on this core, for bench decode: `iters` rounds of 12
 * independent vpdpbusd chains (64 multiply-adds each), so that neither latency nor memory
 * limits them. Returns a sum of the chains, which the caller ignores (it keeps the loop). */
int lk_vnni_loop(long iters) {
#if LK_VNNI
    __m512i acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    __m512i w = _mm512_set1_epi8(3);
    const __m512i x = _mm512_set1_epi8(1);
    for (long k = 0; k < iters; k++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], w, x);
        __asm__ volatile("" : "+v"(w)); /* w may change: the chains are redone every round */
    }
    __m512i sum = acc[0];
    for (int i = 1; i < 12; i++) sum = _mm512_add_epi32(sum, acc[i]);
    return _mm512_reduce_add_epi32(sum);
#else
    (void)iters;
    return -1;
#endif
}

/* Run n tokens: token[t] at position pos[t] of row slot[t] under adapter[t] (-1: none).
 * Tokens of one row must come in position order. The rows listed in `want` (indexes into the
 * n tokens) get their next-token logits in logits[len][n_vocab]. Returns 0, or -1 for bad
 * arguments. */
int lk_forward(Model *md, int n, const int32_t *token, const int32_t *slot, const int32_t *pos,
               const int32_t *adapter, int n_want, const int32_t *want, float *logits) {
    const int E = md->n_embd, F = md->n_ff, hd = E / md->n_head, kv_dim = md->n_head_kv * hd;
    const int ctx = md->n_ctx;
    if (n <= 0 || n > md->max_tokens || n_want > md->max_slots) return -1;
    for (int t = 0; t < n; t++) {
        if (slot[t] < 0 || slot[t] >= md->max_slots || pos[t] < 0 || pos[t] >= ctx ||
            token[t] < 0 || token[t] >= md->n_vocab || adapter[t] >= md->n_adapters)
            return -1;
    }
    for (int i = 0; i < n_want; i++) if (want[i] < 0 || want[i] >= n) return -1;
    /* embedding rows (Q8_0: f16 d, 32 x int8) */
    const int eb = E / BLOCK;
    for (int t = 0; t < n; t++) {
        const uint8_t *row = md->embd + (size_t)token[t] * eb * 34;
        for (int b = 0; b < eb; b++) {
            uint16_t dh;
            memcpy(&dh, row + b * 34, 2);
            const float d = f16_to_f32(dh);
            const int8_t *qs = (const int8_t *)(row + b * 34 + 2);
            for (int i = 0; i < BLOCK; i++) md->x[(size_t)t * E + b * BLOCK + i] = d * qs[i];
        }
    }
    for (int l = 0; l < md->n_layer; l++) {
        const QMat *W = &md->mats[(size_t)l * N_MATS];
        for (int t = 0; t < n; t++) rmsnorm(md->h + (size_t)t * E, md->x + (size_t)t * E, md->attn_norm[l], E, md->eps);
        for (int t = 0; t < n; t++)
            quantize(md->h + (size_t)t * E, E, md->a8 + (size_t)t * E, md->as + (size_t)t * eb, md->asa + (size_t)t * eb);
        matmul(&W[WQ], n, md->a8, md->as, md->asa, md->q);
        matmul(&W[WK], n, md->a8, md->as, md->asa, md->k);
        matmul(&W[WV], n, md->a8, md->as, md->asa, md->vv);
        lora_add(md, l, WQ, n, adapter, md->h, E, md->q, E);
        lora_add(md, l, WK, n, adapter, md->h, E, md->k, kv_dim);
        lora_add(md, l, WV, n, adapter, md->h, E, md->vv, kv_dim);
        for (int t = 0; t < n; t++) {
            const float *cs = md->rope_cos + (size_t)pos[t] * hd / 2, *sn = md->rope_sin + (size_t)pos[t] * hd / 2;
            rope(md->q + (size_t)t * E, md->n_head, hd, cs, sn);
            rope(md->k + (size_t)t * kv_dim, md->n_head_kv, hd, cs, sn);
            store_kv(md, l, slot[t], pos[t], md->k + (size_t)t * kv_dim, md->vv + (size_t)t * kv_dim);
        }
        for (int t = 0; t < n; t++) attend(md, l, slot[t], pos[t], md->q + (size_t)t * E, md->att + (size_t)t * E);
        for (int t = 0; t < n; t++)
            quantize(md->att + (size_t)t * E, E, md->a8 + (size_t)t * E, md->as + (size_t)t * eb, md->asa + (size_t)t * eb);
        matmul(&W[WO], n, md->a8, md->as, md->asa, md->tmp);
        lora_add(md, l, WO, n, adapter, md->att, E, md->tmp, E);
        for (size_t i = 0; i < (size_t)n * E; i++) md->x[i] += md->tmp[i];
        for (int t = 0; t < n; t++) rmsnorm(md->h + (size_t)t * E, md->x + (size_t)t * E, md->ffn_norm[l], E, md->eps);
        for (int t = 0; t < n; t++)
            quantize(md->h + (size_t)t * E, E, md->a8 + (size_t)t * E, md->as + (size_t)t * eb, md->asa + (size_t)t * eb);
        matmul(&W[WGATE], n, md->a8, md->as, md->asa, md->gate);
        matmul(&W[WUP], n, md->a8, md->as, md->asa, md->up);
        lora_add(md, l, WGATE, n, adapter, md->h, E, md->gate, F);
        lora_add(md, l, WUP, n, adapter, md->h, E, md->up, F);
        swiglu(md->gate, md->up, (size_t)n * F);
        const int fb = F / BLOCK;
        for (int t = 0; t < n; t++)
            quantize(md->gate + (size_t)t * F, F, md->a8 + (size_t)t * F, md->as + (size_t)t * fb, md->asa + (size_t)t * fb);
        matmul(&W[WDOWN], n, md->a8, md->as, md->asa, md->tmp);
        lora_add(md, l, WDOWN, n, adapter, md->gate, F, md->tmp, E);
        for (size_t i = 0; i < (size_t)n * E; i++) md->x[i] += md->tmp[i];
    }
    for (int i = 0; i < n_want; i++) {
        rmsnorm(md->h + (size_t)i * E, md->x + (size_t)want[i] * E, md->out_norm, E, md->eps);
        quantize(md->h + (size_t)i * E, E, md->a8 + (size_t)i * E, md->as + (size_t)i * eb, md->asa + (size_t)i * eb);
    }
    if (n_want > 0) matmul(&md->lm_head, n_want, md->a8, md->as, md->asa, logits);
    return 0;
}
