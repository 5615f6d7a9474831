#ifndef BATON_FUZZ_H
#define BATON_FUZZ_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, LLVM 11 and later): runs the fuzzing loop with `callback` as the target and
/// libFuzzer's own flags from argc/argv. Lets one executable hold several targets, chosen by its first argument.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
