// What a C++ program expects from the C runtime startup files, which the SDK's startup code
// (boards_sfe startup_gcc.c, linked with -nostartfiles) does not provide.
extern "C" {
// Identifies this module to __cxa_atexit when static objects with destructors are registered;
// normally defined in crtbegin.o. Destructors never run on this board (main never returns).
void* __dso_handle = &__dso_handle;
}
