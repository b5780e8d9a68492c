/* gdbjit_elf.h - build the in-memory ELF objects a JIT hands to GDB's JIT interface (shared by gdbjit_prog and the unit tests).
 *
 * GDB's JIT protocol (gdb/doc "JIT Interface"): the program defines
 * __jit_debug_descriptor (version 1) and a noinline __jit_debug_register_code
 * that the debugger breakpoints; to register an object it links a
 * jit_code_entry into the list, points relevant_entry at it, sets
 * action_flag to JIT_REGISTER_FN and calls __jit_debug_register_code().
 * The descriptor and the function must be defined by the program itself
 * (these helpers take them as arguments). */
#ifndef JITPERF_TESTS_GDBJIT_ELF_H
#define JITPERF_TESTS_GDBJIT_ELF_H

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { JIT_NOACTION = 0, JIT_REGISTER_FN, JIT_UNREGISTER_FN } jit_actions_t;

struct jit_code_entry {
	struct jit_code_entry *next_entry;
	struct jit_code_entry *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};

struct jit_descriptor {
	uint32_t version;
	uint32_t action_flag;   /* jit_actions_t */
	struct jit_code_entry *relevant_entry;
	struct jit_code_entry *first_entry;
};

struct gj_sym {
	const char *name;
	uint64_t addr;   /* where the code runs */
	uint64_t size;
};

/* An ELF64 object naming syms: one .text section (SHT_NOBITS: the code stays
 * where it runs) at text_addr, a .symtab of global STT_FUNC symbols, .strtab
 * and .shstrtab.  rel != 0 builds ET_REL with section-relative values (what
 * LLVM registers, with sh_addr patched to the load address); rel == 0 builds
 * ET_EXEC with absolute values.  Returns a malloc'd image; *size gets its
 * length.  NULL on allocation failure. */
static inline void *gj_build_elf(const struct gj_sym *syms, unsigned n, uint64_t text_addr,
				 uint64_t text_size, int rel, size_t *size)
{
	static const char shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab";
	size_t strsz = 1, off, sym_off, str_off, shstr_off, sh_off, total;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	Elf64_Sym *sym;
	uint8_t *img;
	char *str;
	unsigned i;

	for (i = 0; i < n; i++)
		strsz += strlen(syms[i].name) + 1;
	sym_off = sizeof(Elf64_Ehdr);
	str_off = sym_off + (n + 1) * sizeof(Elf64_Sym);
	shstr_off = str_off + strsz;
	sh_off = (shstr_off + sizeof(shstr) + 7) & ~(size_t)7;
	total = sh_off + 5 * sizeof(Elf64_Shdr);
	img = calloc(1, total);
	if (!img)
		return NULL;

	eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = rel ? ET_REL : ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shoff = sh_off;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 5;
	eh->e_shstrndx = 4;

	sym = (Elf64_Sym *)(img + sym_off);
	str = (char *)img + str_off;
	off = 1;
	for (i = 0; i < n; i++) {
		Elf64_Sym *s = &sym[i + 1];

		s->st_name = (uint32_t)off;
		s->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		s->st_shndx = 1;
		s->st_value = rel ? syms[i].addr - text_addr : syms[i].addr;
		s->st_size = syms[i].size;
		strcpy(str + off, syms[i].name);
		off += strlen(syms[i].name) + 1;
	}
	memcpy(img + shstr_off, shstr, sizeof(shstr));

	sh = (Elf64_Shdr *)(img + sh_off);
	sh[1].sh_name = 1;                 /* .text */
	sh[1].sh_type = SHT_NOBITS;
	sh[1].sh_flags = SHF_ALLOC | SHF_EXECINSTR;
	sh[1].sh_addr = text_addr;
	sh[1].sh_size = text_size;
	sh[1].sh_addralign = 16;
	sh[2].sh_name = 7;                 /* .symtab */
	sh[2].sh_type = SHT_SYMTAB;
	sh[2].sh_offset = sym_off;
	sh[2].sh_size = (n + 1) * sizeof(Elf64_Sym);
	sh[2].sh_link = 3;
	sh[2].sh_info = 1;
	sh[2].sh_entsize = sizeof(Elf64_Sym);
	sh[2].sh_addralign = 8;
	sh[3].sh_name = 15;                /* .strtab */
	sh[3].sh_type = SHT_STRTAB;
	sh[3].sh_offset = str_off;
	sh[3].sh_size = strsz;
	sh[4].sh_name = 23;                /* .shstrtab */
	sh[4].sh_type = SHT_STRTAB;
	sh[4].sh_offset = shstr_off;
	sh[4].sh_size = sizeof(shstr);
	*size = total;
	return img;
}

/* Link e at the head of d's list and tell the debugger, per the protocol. */
static inline void gj_register(struct jit_descriptor *d, void (*notify)(void),
			       struct jit_code_entry *e, const void *img, size_t size)
{
	e->symfile_addr = img;
	e->symfile_size = size;
	e->prev_entry = NULL;
	e->next_entry = d->first_entry;
	if (d->first_entry)
		d->first_entry->prev_entry = e;
	d->first_entry = e;
	d->relevant_entry = e;
	d->action_flag = JIT_REGISTER_FN;
	notify();
}

static inline void gj_unregister(struct jit_descriptor *d, void (*notify)(void),
				 struct jit_code_entry *e)
{
	if (e->prev_entry)
		e->prev_entry->next_entry = e->next_entry;
	else
		d->first_entry = e->next_entry;
	if (e->next_entry)
		e->next_entry->prev_entry = e->prev_entry;
	d->relevant_entry = e;
	d->action_flag = JIT_UNREGISTER_FN;
	notify();
}

#endif
