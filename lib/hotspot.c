/* hotspot.c - the names of HotSpot's compiled methods, from the JVM's own
 * description of its data structures (gHotSpotVMStructs). */
#include "hotspot.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bytes.h"
#include "dynsym.h"
#include "known.h"
#include "log.h"
#include "str.h"
#include "sys.h"

const char *const jp_hotspot_export_names[JP_HS_NEXPORTS] = {
	[JP_HS_STRUCTS] = "gHotSpotVMStructs",
	[JP_HS_S_STRIDE] = "gHotSpotVMStructEntryArrayStride",
	[JP_HS_S_TYPE] = "gHotSpotVMStructEntryTypeNameOffset",
	[JP_HS_S_FIELD] = "gHotSpotVMStructEntryFieldNameOffset",
	[JP_HS_S_TYPESTRING] = "gHotSpotVMStructEntryTypeStringOffset",
	[JP_HS_S_STATIC] = "gHotSpotVMStructEntryIsStaticOffset",
	[JP_HS_S_OFFSET] = "gHotSpotVMStructEntryOffsetOffset",
	[JP_HS_S_ADDRESS] = "gHotSpotVMStructEntryAddressOffset",
	[JP_HS_TYPES] = "gHotSpotVMTypes",
	[JP_HS_T_STRIDE] = "gHotSpotVMTypeEntryArrayStride",
	[JP_HS_T_TYPE] = "gHotSpotVMTypeEntryTypeNameOffset",
	[JP_HS_T_SIZE] = "gHotSpotVMTypeEntrySizeOffset",
};

/* Bounds on what the tables may hold (JDK 17: about 2,000 fields and 1,000
 * types): garbage must not keep us reading. */
#define TABLE_MAX 65536u
#define ENTRY_MAX 256u
#define STR_MAX 64u
/* What one look at a block reads: its header and the blob's fields. */
#define BLOCK_READ 512u
#define SEGMAP_WINDOW 256u
#define SEGMAP_FREE 0xff /* CodeHeap's free_sentinel: no block there */
#define BLOCKS_MAX (1u << 20)

static int read_all(struct jp_hotspot *hs, uint64_t addr, void *buf, size_t len)
{
	return hs->read(hs->ctx, addr, buf, len) == (ssize_t)len ? 0 : -EFAULT;
}

static int read_u64(struct jp_hotspot *hs, uint64_t addr, uint64_t *v)
{
	return read_all(hs, addr, v, sizeof(*v));
}

/* The NUL-terminated string at addr, cut to size - 1 bytes. */
static int read_str(struct jp_hotspot *hs, uint64_t addr, char *buf, size_t size)
{
	ssize_t n = addr ? hs->read(hs->ctx, addr, buf, size - 1) : -EFAULT;

	if (n <= 0)
		return -EFAULT;
	buf[n] = 0;
	return 0;
}

/* ---- the tables ---- */

enum { F_REQUIRED = 1, F_STATIC = 2 };

struct want {
	const char *type, *field;
	size_t member; /* offsetof in struct jp_hotspot: uint64_t for statics, else uint32_t */
	int flags;
};

#define M(x) offsetof(struct jp_hotspot, x)

/* A JVM has one of each pair that is not required: CompiledMethod::_method
 * up to JDK 22, nmethod::_method from 23 (both fill nm_method); CodeBlob's
 * _code_begin/_code_end pointers up to 22, _code_offset/_data_offset from
 * the blob from 23 (checked after the read). */
static const struct want wants[] = {
	{ "CodeCache", "_heaps", M(heaps_var), F_REQUIRED | F_STATIC },
	{ "GrowableArrayBase", "_len", M(ga_len), F_REQUIRED },
	{ "GrowableArray<int>", "_data", M(ga_data), F_REQUIRED },
	{ "CodeHeap", "_memory", M(ch_memory), F_REQUIRED },
	{ "CodeHeap", "_segmap", M(ch_segmap), F_REQUIRED },
	{ "CodeHeap", "_log2_segment_size", M(ch_log2), F_REQUIRED },
	{ "VirtualSpace", "_low", M(vs_low), F_REQUIRED },
	{ "VirtualSpace", "_high", M(vs_high), F_REQUIRED },
	{ "HeapBlock", "_header", M(hb_header), F_REQUIRED },
	{ "HeapBlock::Header", "_length", M(hb_length), F_REQUIRED },
	{ "HeapBlock::Header", "_used", M(hb_used), F_REQUIRED },
	{ "CodeBlob", "_name", M(cb_name), F_REQUIRED },
	{ "CodeBlob", "_code_begin", M(cb_code_begin), 0 },
	{ "CodeBlob", "_code_end", M(cb_code_end), 0 },
	{ "CodeBlob", "_code_offset", M(cb_code_offset), 0 },
	{ "CodeBlob", "_data_offset", M(cb_data_offset), 0 },
	{ "CompiledMethod", "_method", M(nm_method), 0 },
	{ "nmethod", "_method", M(nm_method), 0 },
	{ "nmethod", "_entry_bci", M(nm_entry_bci), 0 },
	{ "Method", "_constMethod", M(m_const), F_REQUIRED },
	{ "ConstMethod", "_constants", M(cm_constants), F_REQUIRED },
	{ "ConstMethod", "_name_index", M(cm_name), F_REQUIRED },
	{ "ConstMethod", "_signature_index", M(cm_sig), F_REQUIRED },
	{ "ConstantPool", "_pool_holder", M(cp_holder), F_REQUIRED },
	{ "Klass", "_name", M(k_name), F_REQUIRED },
	{ "Symbol", "_length", M(sym_length), F_REQUIRED },
	{ "Symbol", "_body", M(sym_body), F_REQUIRED },
};
#define NWANTS (sizeof(wants) / sizeof(wants[0]))
enum { W_HB_LENGTH = 9, W_CODE_BEGIN = 12, W_CODE_END, W_CODE_OFFSET, W_DATA_OFFSET, W_CM_METHOD, W_NM_METHOD, W_ENTRY_BCI };
_Static_assert(NWANTS <= 32, "one bit each");

static int wanted_type(const char *type)
{
	for (size_t w = 0; w < NWANTS; w++)
		if (!strcmp(type, wants[w].type))
			return 1;
	return 0;
}

/* Entry i of a table (its bytes in e): 1 with the address of its type's
 * name in *tp, 0 at the table's end (an entry of NULL type), or -EFAULT. */
static int table_entry(struct jp_hotspot *hs, uint64_t table, uint64_t stride, uint64_t i, uint64_t type_off,
		       unsigned char *e, uint64_t *tp)
{
	if (read_all(hs, table + i * stride, e, stride))
		return -EFAULT;
	*tp = jp_get_u64(e + type_off);
	return *tp != 0;
}

/* The fields of wants[] the struct table names: a bit each in *found.
 * len_type receives the type of HeapBlock::Header::_length. */
static int read_structs(struct jp_hotspot *hs, const uint64_t lay[JP_HS_NEXPORTS], uint32_t *found,
			char len_type[STR_MAX])
{
	uint64_t table = lay[JP_HS_STRUCTS], stride = lay[JP_HS_S_STRIDE], last_type = 0;
	int last_wanted = 0;
	char type[STR_MAX] = "", field[STR_MAX];
	unsigned char e[ENTRY_MAX];

	if (!table || stride < 8 || stride > ENTRY_MAX)
		return -EINVAL;
	for (enum jp_hotspot_export x = JP_HS_S_TYPE; x <= JP_HS_S_ADDRESS; x++)
		if (lay[x] + 8 > stride)
			return -EINVAL;
	for (uint64_t i = 0; i < TABLE_MAX; i++) {
		uint64_t tp;
		int r = table_entry(hs, table, stride, i, lay[JP_HS_S_TYPE], e, &tp);

		if (r <= 0)
			return r;
		/* Entries come grouped by type: read each type's name once. */
		if (tp != last_type) {
			last_type = tp;
			last_wanted = !read_str(hs, tp, type, sizeof(type)) && wanted_type(type);
		}
		if (!last_wanted || read_str(hs, jp_get_u64(e + lay[JP_HS_S_FIELD]), field, sizeof(field)))
			continue;
		for (size_t w = 0; w < NWANTS; w++) {
			int is_static = jp_get_u32(e + lay[JP_HS_S_STATIC]) != 0;
			uint64_t off = jp_get_u64(e + lay[JP_HS_S_OFFSET]);

			if (strcmp(type, wants[w].type) || strcmp(field, wants[w].field) ||
			    is_static != !!(wants[w].flags & F_STATIC))
				continue;
			if (is_static) {
				uint64_t a = jp_get_u64(e + lay[JP_HS_S_ADDRESS]);

				memcpy((char *)hs + wants[w].member, &a, 8);
			} else {
				if (off > 0xffff) /* no field of these types lies that far */
					return -EINVAL;
				uint32_t o = (uint32_t)off;

				memcpy((char *)hs + wants[w].member, &o, 4);
			}
			*found |= 1u << w;
			if (w == W_HB_LENGTH && read_str(hs, jp_get_u64(e + lay[JP_HS_S_TYPESTRING]), len_type, STR_MAX))
				len_type[0] = 0;
		}
	}
	return -EINVAL;
}

/* Sizes of the types named in names[] (0 where absent). */
static int read_types(struct jp_hotspot *hs, const uint64_t lay[JP_HS_NEXPORTS], const char *const *names,
		      uint64_t *sizes, size_t n)
{
	uint64_t table = lay[JP_HS_TYPES], stride = lay[JP_HS_T_STRIDE];
	char type[STR_MAX];
	unsigned char e[ENTRY_MAX];

	if (!table || stride < 8 || stride > ENTRY_MAX || lay[JP_HS_T_TYPE] + 8 > stride ||
	    lay[JP_HS_T_SIZE] + 8 > stride)
		return -EINVAL;
	for (uint64_t i = 0; i < TABLE_MAX; i++) {
		uint64_t tp;
		int r = table_entry(hs, table, stride, i, lay[JP_HS_T_TYPE], e, &tp);

		if (r <= 0)
			return r;
		if (read_str(hs, tp, type, sizeof(type)))
			continue;
		for (size_t k = 0; k < n; k++)
			if (names[k][0] && !strcmp(type, names[k]))
				sizes[k] = jp_get_u64(e + lay[JP_HS_T_SIZE]);
	}
	return -EINVAL;
}

static void say_missing(char *missing, size_t size, uint32_t found)
{
	if (!missing || !size)
		return;
	missing[0] = 0;
	for (size_t w = 0; w < NWANTS; w++)
		if ((wants[w].flags & F_REQUIRED) && !(found & (1u << w))) {
			if (missing[0])
				jp_strlcat(missing, ", ", size);
			jp_strlcat(missing, wants[w].type, size);
			jp_strlcat(missing, "::", size);
			jp_strlcat(missing, wants[w].field, size);
		}
}

int jp_hotspot_init(struct jp_hotspot *hs, jp_hotspot_read_fn read, void *ctx,
		    const uint64_t exports[JP_HS_NEXPORTS], char *missing, size_t missing_size)
{
	uint64_t lay[JP_HS_NEXPORTS], sizes[3] = { 0, 0, 0 };
	char len_type[STR_MAX] = "";
	const char *types[3] = { "HeapBlock", "ConstantPool", len_type };
	uint32_t found = 0, req = 0;
	int r;

	memset(hs, 0, offsetof(struct jp_hotspot, cache));
	for (size_t i = 0; i < JP_HOTSPOT_CACHE; i++)
		hs->cache[i].method = 0;
	hs->read = read;
	hs->ctx = ctx;
	if (missing && missing_size)
		missing[0] = 0;
	/* The exported variables hold the tables' addresses and layout. */
	for (size_t i = 0; i < JP_HS_NEXPORTS; i++)
		if (!exports[i] || read_u64(hs, exports[i], &lay[i]))
			return -EFAULT;
	r = read_structs(hs, lay, &found, len_type);
	if (r)
		return r;
	r = read_types(hs, lay, types, sizes, 3);
	if (r)
		return r;
	for (size_t w = 0; w < NWANTS; w++)
		req |= (wants[w].flags & F_REQUIRED) ? 1u << w : 0;
	if ((found & req) != req) {
		say_missing(missing, missing_size, found);
		return -ENOENT;
	}
	if ((found & (1u << W_CODE_BEGIN)) && (found & (1u << W_CODE_END)))
		hs->code_by_offset = 0;
	else if ((found & (1u << W_CODE_OFFSET)) && (found & (1u << W_DATA_OFFSET)))
		hs->code_by_offset = 1;
	else {
		if (missing)
			jp_strlcpy(missing, "CodeBlob::_code_begin or _code_offset", missing_size);
		return -ENOENT;
	}
	if (!(found & ((1u << W_CM_METHOD) | (1u << W_NM_METHOD)))) {
		if (missing)
			jp_strlcpy(missing, "CompiledMethod::_method or nmethod::_method", missing_size);
		return -ENOENT;
	}
	if (!sizes[0] || !sizes[1] || (sizes[2] != 4 && sizes[2] != 8)) {
		if (missing)
			jp_strlcpy(missing, "the size of HeapBlock, ConstantPool or HeapBlock::Header::_length",
				   missing_size);
		return -ENOENT;
	}
	if (sizes[0] > 64 || sizes[1] > 4096)
		return -EINVAL;
	hs->osr = !!(found & (1u << W_ENTRY_BCI));
	hs->hb_size = (uint32_t)sizes[0];
	hs->cp_size = (uint32_t)sizes[1];
	hs->hb_length_size = (uint32_t)sizes[2];
	/* Everything read from one look at a block must fit in BLOCK_READ. */
	{
		uint32_t hi = hs->hb_size + (hs->cb_name > hs->nm_method ? hs->cb_name : hs->nm_method) + 8;

		hi = hi > hs->hb_size + hs->cb_code_begin + 8 ? hi : hs->hb_size + hs->cb_code_begin + 8;
		hi = hi > hs->hb_size + hs->cb_code_end + 8 ? hi : hs->hb_size + hs->cb_code_end + 8;
		hi = hi > hs->hb_size + hs->cb_code_offset + 4 ? hi : hs->hb_size + hs->cb_code_offset + 4;
		hi = hi > hs->hb_size + hs->cb_data_offset + 4 ? hi : hs->hb_size + hs->cb_data_offset + 4;
		if (hs->osr)
			hi = hi > hs->hb_size + hs->nm_entry_bci + 4 ? hi : hs->hb_size + hs->nm_entry_bci + 4;
		hs->block_need = hi;
		if (hi > BLOCK_READ || hs->hb_header + hs->hb_length + hs->hb_length_size > hs->hb_size ||
		    hs->hb_header + hs->hb_used >= hs->hb_size)
			return -EINVAL;
	}
	return 0;
}

/* ---- the code heaps ---- */

/* The heaps as they are now (a heap's committed end grows). */
static int read_heaps(struct jp_hotspot *hs)
{
	uint64_t arr, data;
	unsigned char ga[16];
	int32_t len;

	hs->nheaps = 0;
	if (read_u64(hs, hs->heaps_var, &arr) || !arr)
		return -EFAULT; /* not made yet: the JVM is starting */
	if (read_all(hs, arr + hs->ga_len, ga, 4))
		return -EFAULT;
	len = (int32_t)jp_get_u32(ga);
	if (read_u64(hs, arr + hs->ga_data, &data) || len <= 0)
		return -EFAULT;
	for (int32_t i = 0; i < len && hs->nheaps < JP_HOTSPOT_HEAPS; i++) {
		uint64_t heap, low, high, seg, log2 = 0;

		if (read_u64(hs, data + 8 * (uint64_t)i, &heap) ||
		    read_u64(hs, heap + hs->ch_memory + hs->vs_low, &low) ||
		    read_u64(hs, heap + hs->ch_memory + hs->vs_high, &high) ||
		    read_u64(hs, heap + hs->ch_segmap + hs->vs_low, &seg) ||
		    read_all(hs, heap + hs->ch_log2, &log2, 4))
			continue;
		if (low >= high || log2 < 4 || log2 > 16 || !seg)
			continue;
		hs->heaps[hs->nheaps++] = (struct jp_hotspot_heap){ low, high, seg, (unsigned)log2 };
	}
	return hs->nheaps ? 0 : -EFAULT;
}

/* The start of the block holding addr: the segment map holds, for each
 * segment, how many segments to step back towards its block's first
 * segment (0 there; SEGMAP_FREE where no block is). */
static int block_start(struct jp_hotspot *hs, const struct jp_hotspot_heap *h, uint64_t addr, uint64_t *start)
{
	uint64_t idx = (addr - h->low) >> h->log2_segment, win = 0, have = 0;
	unsigned char map[SEGMAP_WINDOW];

	for (unsigned hops = 0; hops < 65536; hops++) {
		if (!have || idx < win || idx >= win + have) {
			ssize_t n;

			win = idx >= SEGMAP_WINDOW - 1 ? idx - (SEGMAP_WINDOW - 1) : 0;
			n = hs->read(hs->ctx, h->segmap + win, map, (size_t)(idx - win + 1));
			if (n != (ssize_t)(idx - win + 1))
				return -EFAULT;
			have = idx - win + 1;
		}
		if (map[idx - win] == SEGMAP_FREE)
			return -ENOENT;
		if (map[idx - win] == 0) {
			*start = h->low + (idx << h->log2_segment);
			return 0;
		}
		if (map[idx - win] > idx)
			return -EINVAL;
		idx -= map[idx - win];
	}
	return -EINVAL;
}

/* Is this CodeBlob::_name a compiled method's?  1, 0, or -EFAULT. */
static int method_blob(struct jp_hotspot *hs, uint64_t name_ptr)
{
	char name[STR_MAX];
	size_t i;
	int m;

	for (i = 0; i < hs->nblob_names; i++)
		if (hs->blob_names[i].ptr == name_ptr)
			return hs->blob_names[i].method;
	if (read_str(hs, name_ptr, name, sizeof(name)))
		return -EFAULT;
	m = !strcmp(name, "nmethod") || !strcmp(name, "native nmethod");
	/* Each is a string literal of libjvm, the same for every blob of its
	 * kind, but a RuntimeStub's or an adapter's names its stub: there
	 * are more than the table holds.  A method's name always gets a
	 * place (over a stub's), since most blocks are methods. */
	if (hs->nblob_names < JP_HOTSPOT_BLOB_NAMES) {
		hs->blob_names[hs->nblob_names++] = (typeof(hs->blob_names[0])){ name_ptr, m };
	} else if (m) {
		for (i = 0; i < JP_HOTSPOT_BLOB_NAMES && hs->blob_names[i].method; i++)
			;
		if (i < JP_HOTSPOT_BLOB_NAMES)
			hs->blob_names[i] = (typeof(hs->blob_names[0])){ name_ptr, m };
	}
	return m;
}

/* The bytes of the Symbol at addr: *len of them copied into buf. */
static int read_symbol(struct jp_hotspot *hs, uint64_t addr, char *buf, size_t size, size_t *len)
{
	unsigned char sym[8 + JP_HOTSPOT_NAME];
	ssize_t n;
	uint16_t l;

	/* one read for the length and the bytes: short where the symbol
	 * ends near an unreadable page */
	if (!addr || hs->sym_length + 2 > 8 || hs->sym_body > 8)
		return -EFAULT;
	n = hs->read(hs->ctx, addr, sym, sizeof(sym));
	if (n < (ssize_t)(hs->sym_length + 2))
		return -EFAULT;
	l = jp_get_u16(sym + hs->sym_length);
	if (!l || l >= size)
		return -EINVAL;
	if (n < (ssize_t)(hs->sym_body + l))
		return -EFAULT;
	memcpy(buf, sym + hs->sym_body, l);
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)buf[i] < 0x20)
			return -EINVAL; /* not a symbol of a loaded class: freed memory */
	*len = l;
	return 0;
}

/* The holder and the name and signature symbols of a constant pool: one
 * read where the two entries lie near its start (they do: a class's own
 * method names come first), else one each. */
#define CP_READ 2048u
static int read_pool(struct jp_hotspot *hs, uint64_t cp, uint16_t ni, uint16_t si, uint64_t *holder,
		     uint64_t *name_sym, uint64_t *sig_sym)
{
	unsigned char b[CP_READ];
	uint64_t ni_off = hs->cp_size + 8 * (uint64_t)ni, si_off = hs->cp_size + 8 * (uint64_t)si;
	uint64_t need = (ni_off > si_off ? ni_off : si_off) + 8;

	if (need > sizeof(b) || hs->cp_holder + 8 > need)
		return read_u64(hs, cp + hs->cp_holder, holder) || read_u64(hs, cp + ni_off, name_sym) ||
			       read_u64(hs, cp + si_off, sig_sym)
			       ? -EFAULT
			       : 0;
	if (read_all(hs, cp, b, (size_t)need))
		return -EFAULT;
	*holder = jp_get_u64(b + hs->cp_holder);
	*name_sym = jp_get_u64(b + ni_off);
	*sig_sym = jp_get_u64(b + si_off);
	return 0;
}

/* The external name of the Method at m, cached by Method* and checked
 * against its ConstMethod*. */
static const char *method_name(struct jp_hotspot *hs, uint64_t m)
{
	uint64_t cm, cp, holder, kname, name_sym, sig_sym;
	unsigned char cmb[64];
	uint16_t ni, si;
	size_t slot = (size_t)((m >> 3) * 0x9e3779b97f4a7c15ull >> 54) & (JP_HOTSPOT_CACHE - 1);
	char klass[JP_HOTSPOT_NAME], name[JP_HOTSPOT_NAME], sig[JP_HOTSPOT_NAME];
	size_t kl, nl, sl;

	if (!m || read_u64(hs, m + hs->m_const, &cm) || !cm)
		return NULL;
	if (hs->cache[slot].method == m && hs->cache[slot].cmethod == cm)
		return hs->cache[slot].name;
	{
		uint32_t hi = hs->cm_constants + 8;

		hi = hi > hs->cm_name + 2u ? hi : hs->cm_name + 2u;
		hi = hi > hs->cm_sig + 2u ? hi : hs->cm_sig + 2u;
		if (hi > sizeof(cmb) || read_all(hs, cm, cmb, hi))
			return NULL;
	}
	cp = jp_get_u64(cmb + hs->cm_constants);
	ni = jp_get_u16(cmb + hs->cm_name);
	si = jp_get_u16(cmb + hs->cm_sig);
	if (!cp || read_pool(hs, cp, ni, si, &holder, &name_sym, &sig_sym) || !holder ||
	    read_u64(hs, holder + hs->k_name, &kname))
		return NULL;
	if (read_symbol(hs, kname, klass, sizeof(klass), &kl) || read_symbol(hs, name_sym, name, sizeof(name), &nl) ||
	    read_symbol(hs, sig_sym, sig, sizeof(sig), &sl))
		return NULL;
	if (jp_hotspot_external_name(hs->cache[slot].name, sizeof(hs->cache[slot].name), klass, kl, name, nl, sig,
				     sl) < 0)
		return NULL;
	hs->cache[slot].method = m;
	hs->cache[slot].cmethod = cm;
	return hs->cache[slot].name;
}

/* len bytes of the code heap at addr, through the window: a miss reads
 * from addr up to the walk's limit (win_limit) at once. */
static ssize_t heap_read(struct jp_hotspot *hs, uint64_t addr, void *buf, size_t len)
{
	ssize_t n;
	uint64_t want;

	/* The header of a block that starts well before the walk's range
	 * (the interpreter is 100 KB): only it is needed. */
	if (addr + len + BLOCK_READ <= hs->win_from)
		return hs->read(hs->ctx, addr, buf, len);
	if (!(addr >= hs->win_addr && addr - hs->win_addr + len <= hs->win_len)) {
		want = hs->win_limit > addr ? hs->win_limit - addr : len;
		want = want < len ? len : want;
		want = want > sizeof(hs->window) ? sizeof(hs->window) : want;
		n = hs->read(hs->ctx, addr, hs->window, (size_t)want);
		hs->win_addr = addr;
		hs->win_len = n > 0 ? (uint64_t)n : 0;
	}
	n = (ssize_t)(hs->win_len - (addr - hs->win_addr));
	n = n > (ssize_t)len ? (ssize_t)len : n;
	if (n <= 0)
		return -EFAULT;
	memcpy(buf, hs->window + (addr - hs->win_addr), (size_t)n);
	return n;
}

/* One block at blk: its length in bytes (0: stop), and the method in it
 * reported when its code overlaps [a, b). */
static uint64_t look_at_block(struct jp_hotspot *hs, const struct jp_hotspot_heap *h, uint64_t blk, uint64_t a,
			      uint64_t b, jp_hotspot_found_fn fn, void *arg, int *reported)
{
	unsigned char buf[BLOCK_READ];
	ssize_t got = heap_read(hs, blk, buf, sizeof(buf));
	const unsigned char *blob = buf + hs->hb_size;
	uint64_t len, bytes, code, end, blob_addr = blk + hs->hb_size;
	const char *name;
	int m, osr;

	if (got < (ssize_t)hs->hb_size)
		return 0;
	len = hs->hb_length_size == 8 ? jp_get_u64(buf + hs->hb_header + hs->hb_length)
				      : jp_get_u32(buf + hs->hb_header + hs->hb_length);
	if (!len || len > ((h->high - blk) >> h->log2_segment))
		return 0;
	bytes = len << h->log2_segment;
	/* A block cut short by an unreadable page: only its length counts. */
	if (!buf[hs->hb_header + hs->hb_used] || got < (ssize_t)hs->block_need)
		return bytes;
	m = method_blob(hs, jp_get_u64(blob + hs->cb_name));
	if (m <= 0)
		return bytes;
	if (hs->code_by_offset) {
		int32_t co = (int32_t)jp_get_u32(blob + hs->cb_code_offset), dof = (int32_t)jp_get_u32(blob + hs->cb_data_offset);

		if (co <= 0 || dof <= co)
			return bytes;
		code = blob_addr + (uint64_t)co;
		end = blob_addr + (uint64_t)dof;
	} else {
		code = jp_get_u64(blob + hs->cb_code_begin);
		end = jp_get_u64(blob + hs->cb_code_end);
	}
	/* A blob being built or freed has no sane extent yet. */
	if (code < blob_addr || end <= code || end > blk + bytes)
		return bytes;
	/* A method compiled for on-stack replacement (entry_bci is a loop's,
	 * not -1) is entered where the interpreter jumps to it with a frame of
	 * its own making, not through the entry at its first byte: from
	 * there (or from the OSR entry) the stack-height analysis put the
	 * caller's frame elsewhere, and 9-22 % of the stacks through
	 * JavaWork.main unwound into garbage (tests/e2e/unwind_engines.sh).
	 * It is named, with the empty unwinding table. */
	osr = hs->osr && (int32_t)jp_get_u32(blob + hs->nm_entry_bci) != -1;
	if (code >= b || end <= a)
		return bytes;
	name = method_name(hs, jp_get_u64(blob + hs->nm_method));
	if (name) {
		fn(arg, code, end - code, name, osr);
		(*reported)++;
	}
	return bytes;
}

int jp_hotspot_methods_in(struct jp_hotspot *hs, uint64_t a, uint64_t b, jp_hotspot_found_fn fn, void *arg)
{
	int reported = 0, in_heap = 0;

	/* Heaps are read again when the range is in none of them: a heap's
	 * committed part grows as code is added. */
	for (int again = 0; again < 2; again++) {
		for (size_t i = 0; i < hs->nheaps; i++)
			in_heap |= a < hs->heaps[i].high && hs->heaps[i].low < b;
		if (in_heap || again || read_heaps(hs))
			break;
	}
	if (!in_heap)
		return -ENOENT;
	for (size_t i = 0; i < hs->nheaps; i++) {
		const struct jp_hotspot_heap *h = &hs->heaps[i];
		uint64_t lo = a > h->low ? a : h->low, hi = b < h->high ? b : h->high, blk;

		if (lo >= hi || block_start(hs, h, lo, &blk))
			continue;
		/* the memory may have changed since the last walk */
		hs->win_len = 0;
		hs->win_from = lo;
		hs->win_limit = hi + BLOCK_READ;
		for (unsigned k = 0; k < BLOCKS_MAX && blk < hi; k++) {
			uint64_t bytes = look_at_block(hs, h, blk, lo, hi, fn, arg, &reported);

			if (!bytes)
				break;
			blk += bytes;
		}
	}
	return reported;
}

/* ---- names ---- */

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->size)
			o->buf[o->len] = s[i];
}

static void put_class(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(o, s[i] == '/' ? "." : &s[i], 1);
}

/* One field type of a signature at *p: "int", "java.lang.String[]". */
static int put_type(struct out *o, const char *sig, size_t len, size_t *p)
{
	static const struct {
		char c;
		const char *name;
	} prim[] = { { 'B', "byte" },  { 'C', "char" }, { 'D', "double" }, { 'F', "float" },  { 'I', "int" },
		     { 'J', "long" },  { 'S', "short" }, { 'Z', "boolean" }, { 'V', "void" } };
	size_t dims = 0;

	while (*p < len && sig[*p] == '[')
		dims++, (*p)++;
	if (*p >= len || dims > 255)
		return -EINVAL;
	if (sig[*p] == 'L') {
		size_t s = ++*p;

		while (*p < len && sig[*p] != ';')
			(*p)++;
		if (*p >= len || *p == s)
			return -EINVAL;
		put_class(o, sig + s, *p - s);
		(*p)++;
	} else {
		size_t k;

		for (k = 0; k < sizeof(prim) / sizeof(prim[0]) && prim[k].c != sig[*p]; k++)
			;
		if (k == sizeof(prim) / sizeof(prim[0]) || (prim[k].c == 'V' && dims))
			return -EINVAL;
		put(o, prim[k].name, strlen(prim[k].name));
		(*p)++;
	}
	while (dims--)
		put(o, "[]", 2);
	return 0;
}

int jp_hotspot_external_name(char *buf, size_t size, const char *klass, size_t klass_len, const char *method,
			     size_t method_len, const char *sig, size_t sig_len)
{
	struct out o = { buf, size, 0 };
	size_t ret, p;

	if (!size)
		return -EINVAL;
	/* the return type, after the closing parenthesis */
	for (ret = 0; ret < sig_len && sig[ret] != ')'; ret++)
		;
	if (!sig_len || sig[0] != '(' || ret >= sig_len)
		return -EINVAL;
	p = ret + 1;
	if (put_type(&o, sig, sig_len, &p) || p != sig_len)
		return -EINVAL;
	put(&o, " ", 1);
	put_class(&o, klass, klass_len);
	put(&o, ".", 1);
	put(&o, method, method_len);
	put(&o, "(", 1);
	for (p = 1; p < ret;) {
		if (p > 1)
			put(&o, ", ", 2);
		if (put_type(&o, sig, ret, &p))
			return -EINVAL;
	}
	put(&o, ")", 1);
	buf[o.len < size ? o.len : size - 1] = 0;
	return (int)(o.len < size ? o.len : size - 1);
}

/* ---- in this process ---- */

static struct jp_hotspot self;
static int self_state;     /* 0 not tried, 1 ready, -1 not a JVM or not readable */
static unsigned self_tries;
#define SELF_TRIES 50      /* epochs to wait for a starting JVM's tables */

/* libjvm.so as loaded: its tables and their strings are static data in
 * its segments, mapped as long as the object is loaded (a JVM never unloads
 * it), so they are read in place; the rest (the code heaps, metaspace) may
 * be freed under us and goes through jp_safe_copy. */
static struct jp_dynobj jvm;

static int in_jvm(uint64_t a, uint64_t len)
{
	return jp_dynobj_contains(&jvm, a, len);
}

static ssize_t self_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (in_jvm(addr, len)) {
		memcpy(buf, (const void *)(uintptr_t)addr, len);
		return (ssize_t)len;
	}
	return jp_safe_copy(buf, (const void *)(uintptr_t)addr, len);
}

static int is_libjvm(const char *name, const struct jp_dynobj *o, void *arg)
{
	const char *slash = strrchr(name, '/');

	(void)o;
	(void)arg;
	return name[0] == '/' && !strcmp(slash + 1, "libjvm.so");
}

int jp_hotspot_attach_self(void)
{
	int saved = errno, r;
	uint64_t ex[JP_HS_NEXPORTS];
	char missing[160];

	if (self_state)
		return self_state > 0;
	/* the tables' variables are exported: looking them up reads no file
	 * (libjvm.so's .symtab is 4 MB: reading it was most of a HotSpot
	 * run's naming work) */
	if (jp_dynobj_find(&jvm, is_libjvm, NULL) < 0) {
		self_state = -1;
		errno = saved;
		return 0;
	}
	for (size_t i = 0; i < JP_HS_NEXPORTS; i++)
		if (jp_dynobj_lookup(&jvm, jp_hotspot_export_names[i], &ex[i])) {
			jp_log(1, "libjvm.so exports no %s: HotSpot's compiled methods keep made-up names",
			       jp_hotspot_export_names[i]);
			self_state = -1;
			errno = saved;
			return 0;
		}
	r = jp_hotspot_init(&self, self_read, NULL, ex, missing, sizeof(missing));
	if (r == 0 && read_heaps(&self) == 0) {
		self_state = 1;
	} else if (r == -ENOENT) {
		jp_log(1, "HotSpot's own tables (gHotSpotVMStructs) have no %s: its compiled methods keep made-up names",
		       missing);
		self_state = -1;
	} else if (++self_tries >= SELF_TRIES) {
		/* Tables or heaps not there yet are a JVM starting up; for
		 * this long, a JVM this cannot read. */
		jp_log(1, "cannot read HotSpot's own tables (gHotSpotVMStructs) or code heaps: its compiled methods "
			  "keep made-up names");
		self_state = -1;
	}
	errno = saved;
	return self_state > 0;
}

static void publish_one(void *arg, uint64_t addr, uint64_t size, const char *name, int osr)
{
	int *changed = arg;

	if (jp_known_add_flags(addr, size, name, JP_KNOWN_FROM_HEAP | (osr ? JP_KNOWN_NO_UNWIND : 0)) == 1)
		(*changed)++;
}

int jp_hotspot_publish(uint64_t a, uint64_t b)
{
	int saved = errno, changed = 0;

	if (self_state > 0)
		(void)jp_hotspot_methods_in(&self, a, b, publish_one, &changed);
	errno = saved;
	return changed;
}
