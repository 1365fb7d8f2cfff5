/* ProcessPrng for Wine 8.0, whose bcryptprimitives.dll lacks it (Rust's std imports it on
 * Windows). Built with mingw-w64 by .ci/windows and used only to run the Windows test
 * executables under Wine; never shipped. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return RtlGenRandom(data, (ULONG)len);
}
