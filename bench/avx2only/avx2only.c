/*
 * avx2only.so — an LD_PRELOAD shim under which a process sees this CPU without AVX-512, as on an AVX2-only machine.
 *
 * Why: ONNX Runtime's MLAS (and anything else that dispatches on CPUID) has no switch to leave its AVX-512 kernels;
 * DOTNET_EnableAVX512=0 turns them off for .NET only. Timing Striate's AVX2 paths against a peer that runs AVX-512
 * is not what an AVX2 machine would show. bench/ort_b1.py --isa avx2 runs both sides under this shim.
 *
 * How: Linux CPUID faulting (arch_prctl ARCH_SET_CPUID, /proc/cpuinfo flag cpuid_fault) makes every CPUID
 * instruction raise SIGSEGV; the handler runs the real CPUID with faulting briefly off, clears the AVX-512 feature
 * bits of leaf 7 and returns past the instruction. Other SIGSEGVs go to the handler the process installed (the
 * .NET runtime's, which turns them into NullReferenceException): sigaction() for SIGSEGV is intercepted so that
 * this handler stays first. Only CPUID is changed: XCR0 still enables the ZMM state, which MLAS and .NET check in
 * addition to the CPUID bits, so both see "no AVX-512". libc's own string functions were chosen by ld.so before
 * this constructor runs and stay as they are.
 *
 * Build: gcc -O2 -shared -fPIC -o avx2only.so avx2only.c -ldl   (bench/ort_b1.py builds it on demand)
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static struct sigaction chained;  /* the SIGSEGV handler the process asked for */
static int installed;

static int set_cpuid_enabled(int enabled) { return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

/* Leaf 7 subleaf 0: EBX AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31; ECX VBMI 1, VBMI2 6,
 * VNNI 11, BITALG 12, VPOPCNTDQ 14; EDX 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, FP16 23. Subleaf 1: EAX BF16 5. */
static void mask_avx512(unsigned leaf, unsigned subleaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d)
{
    if (leaf == 7 && subleaf == 0) {
        *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
        *c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23));
    } else if (leaf == 7 && subleaf == 1) {
        *a &= ~(1u << 5);
    }
}

static void on_segv(int sig, siginfo_t *info, void *raw)
{
    ucontext_t *uc = raw;
    greg_t *r = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)r[REG_RIP];
    if (info->si_code == SI_KERNEL && ip[0] == 0x0F && ip[1] == 0xA2) {
        unsigned leaf = (unsigned)r[REG_RAX], subleaf = (unsigned)r[REG_RCX], a, b, c, d;
        set_cpuid_enabled(1);
        __cpuid_count(leaf, subleaf, a, b, c, d);
        set_cpuid_enabled(0);
        mask_avx512(leaf, subleaf, &a, &b, &c, &d);
        r[REG_RAX] = a;
        r[REG_RBX] = b;
        r[REG_RCX] = c;
        r[REG_RDX] = d;
        r[REG_RIP] += 2;
        return;
    }
    if (chained.sa_flags & SA_SIGINFO) {
        chained.sa_sigaction(sig, info, raw);
    } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
        chained.sa_handler(sig);
    } else {
        signal(sig, SIG_DFL);  /* a real fault: it happens again on return and ends the process as usual */
    }
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    static sigaction_fn real;
    if (!real)
        real = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (sig != SIGSEGV || !installed)
        return real(sig, act, old);
    if (old)
        *old = chained;
    if (act)
        chained = *act;
    return 0;
}

__attribute__((constructor)) static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &chained) != 0)
        return;
    if (set_cpuid_enabled(0) != 0) {
        sigaction(SIGSEGV, &chained, NULL);  /* no CPUID faulting here: change nothing */
        return;
    }
    installed = 1;
}
