/* elfsym.h - bounds-checked reading of ELF64 symbol tables, without libelf.
 *
 * Contract
 * - Everything here is malloc-free: in-memory images are parsed in place,
 *   files are read with pread(2) into memory from jp_sys_alloc().  That lets
 *   the creator symbolizer run inside a hook (libelf allocates with malloc on
 *   elf_begin and for every section's data).
 * - Every offset, size and string read from the image is checked against the
 *   buffer: a truncated, corrupt or hostile image yields -EINVAL or fewer
 *   symbols, never a read out of bounds.
 * - Functions return 0 / a count on success, -errno on failure, and leave
 *   errno untouched.  No global state: thread-safe on distinct structs.
 * - Only little-endian ELF64 is accepted (what x86-64 runs). */
#ifndef JITPERF_ELFSYM_H
#define JITPERF_ELFSYM_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

/* One symbol table and its string table, ready for lookups. */
struct jp_elf_symtab {
	const Elf64_Sym *sym;
	size_t nsym;
	const char *str;
	size_t strsz;
	const Elf64_Shdr *sh;  /* section headers, to place ET_REL symbols */
	size_t shnum;
	int is_rel;            /* ET_REL: st_value is relative to its section */
	int is_dyn;            /* .dynsym was used (there was no .symtab) */
	/* set by jp_elf_file_symtab: the buffer to release */
	void *mem;
	size_t mem_len;
};

/* Function symbols are reported with the address where they run: st_value
 * for executables and shared objects (add the load bias yourself), the
 * section's sh_addr + st_value for relocatable objects (the GDB JIT
 * interface hands over ET_REL images whose sh_addr were set to the load
 * addresses). */
struct jp_elf_func {
	uint64_t addr;
	uint64_t size;
	const char *name;
	unsigned bind;         /* STB_* */
};

/* Find .symtab (or .dynsym when there is none) in an ELF image held in
 * memory.  The result points into buf. */
int jp_elf_mem_symtab(const void *buf, size_t size, struct jp_elf_symtab *t);

/* Read the symbol table of the ELF file at path (.symtab, else .dynsym).  If
 * build_id is non-NULL, the file's NT_GNU_BUILD_ID note must equal it or the
 * call fails with -ESTALE (the file on disk is not the one loaded).  Release
 * with jp_elf_symtab_release().  Uses open/pread/close as raw system calls. */
int jp_elf_file_symtab(const char *path, const uint8_t *build_id, size_t build_id_len,
		       struct jp_elf_symtab *t);
void jp_elf_symtab_release(struct jp_elf_symtab *t);

/* The defined function (STT_FUNC or STT_GNU_IFUNC) containing addr.  When
 * several do (aliases), a global beats a weak beats a local, then the
 * earlier one in the table: the choice is the same every run.  A symbol
 * with size 0 contains only its own address.  Returns 0 and fills *f, or
 * -ENOENT. */
int jp_elf_func_at(const struct jp_elf_symtab *t, uint64_t addr, struct jp_elf_func *f);

/* jp_elf_func_at's answer for the file at path (build-id checked as in
 * jp_elf_file_symtab), its name copied into name (cut to size and to
 * JP_ELF_NAME_MAX - 1 bytes), reading the symbol table a batch at a time
 * and just the names it needs: no copy of the tables (tens of MB for a
 * large program) per look-up.  0, or -errno (-ENOENT: no function there). */
#define JP_ELF_NAME_MAX 256
int jp_elf_file_func_name(const char *path, const uint8_t *build_id, size_t build_id_len, uint64_t addr,
			  char *name, size_t size);

/* Call cb for every defined function symbol (in table order) until it
 * returns non-zero, which is then returned.  Zero-sized symbols get the
 * distance to the next symbol start in the same section (or the section's
 * end) as their size, when the table is small enough to search
 * (JP_ELF_SIZE_GUESS_MAX symbols). */
#define JP_ELF_SIZE_GUESS_MAX 4096
typedef int (*jp_elf_func_cb)(void *arg, const struct jp_elf_func *f);
int jp_elf_for_each_func(const struct jp_elf_symtab *t, jp_elf_func_cb cb, void *arg);

/* Value (address as above) of the defined symbol called name, any type.
 * Returns 0 and fills *value, or -ENOENT. */
int jp_elf_find(const struct jp_elf_symtab *t, const char *name, uint64_t *value);

/* jp_elf_find's answer for the file at path, reading the string table a
 * step at a time for where name is, then the symbols that point there:
 * no copy of the tables.  0, or -errno (-ENOENT: no such symbol; -E2BIG:
 * the name is in the string table too often to tell). */
int jp_elf_file_find(const char *path, const char *name, uint64_t *value);

/* The same with the caller's buffer (buf_len > strlen(name) + 1; the bigger,
 * the fewer reads): a caller that looks in many files keeps one buffer
 * rather than mapping and unmapping one per file (gdbjit's look at every
 * loaded object, page faults and all, cost a BEAM run more than the reads). */
int jp_elf_file_find_buf(const char *path, const char *name, uint64_t *value, char *buf, size_t buf_len);

/* The NT_GNU_BUILD_ID descriptor in a run of note records (a PT_NOTE
 * segment or SHT_NOTE section).  Returns its length and sets *id, or 0. */
size_t jp_elf_note_build_id(const void *notes, size_t size, const uint8_t **id);

#endif
