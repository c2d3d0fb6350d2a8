/* Reset and fault handling for the mps2-an386 board layer.
 * The vector table only needs the entries the firmware can hit: no interrupts are used (the UART and
 * timer are polled), so every exception lands in one handler that reports and stops QEMU. */
#include <stdint.h>
#include <string.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_bottom, _stack_top;
extern void __libc_init_array(void);
extern int main(void);
void vww_semihost_exit(int code);
void vww_fault_report(const char* what);

/* Linked with -nostartfiles (no crt0/crti: this file is the startup), so newlib's __libc_init_array
 * finds no _init/_fini from crti.o; the .init_array walk it does besides is all C++ needs. */
void _init(void) {}
void _fini(void) {}

#define STACK_PAINT 0x57575757u /* "WWWW": what an untouched stack word holds */

/* Fills the stack below the current frame with STACK_PAINT. Runs first in the reset handler, with a
 * few words of stack in use; the words it must not touch are those above its own stack pointer. */
static void __attribute__((noinline)) paint_stack(void) {
  uint32_t here;
  __asm volatile("mov %0, sp" : "=r"(here));
  for (uint32_t* p = &_stack_bottom; p < (uint32_t*)here - 16; ++p) *p = STACK_PAINT;
}

/* The stack's high-water mark in bytes (from the top down to the deepest word no longer holding the
 * paint) and, in *reserved, the stack's size. */
uint32_t vww_stack_high_water(uint32_t* reserved) {
  const uint32_t* p = &_stack_bottom;
  while (p < &_stack_top && *p == STACK_PAINT) ++p;
  *reserved = (uint32_t)((char*)&_stack_top - (char*)&_stack_bottom);
  return (uint32_t)((char*)&_stack_top - (char*)p);
}

void vww_reset_handler(void) {
  paint_stack();
  /* Enable CP10/CP11 (the FPU) before any code that may use float registers. */
  volatile uint32_t* cpacr = (volatile uint32_t*)0xE000ED88u;
  *cpacr |= (0xFu << 20);
  __asm volatile("dsb\n isb");
  memcpy(&_data_start, &_data_load, (size_t)((char*)&_data_end - (char*)&_data_start));
  memset(&_bss_start, 0, (size_t)((char*)&_bss_end - (char*)&_bss_start));
  __libc_init_array();
  main();
  vww_semihost_exit(0);
  for (;;) {
  }
}

static void fault_handler(void) {
  vww_fault_report("hard fault");
  vww_semihost_exit(70);
  for (;;) {
  }
}

__attribute__((section(".vectors"), used)) static const void* const vector_table[16] = {
    &_stack_top,              /* initial stack pointer */
    (void*)vww_reset_handler, /* reset */
    (void*)fault_handler,     /* NMI */
    (void*)fault_handler,     /* hard fault */
    (void*)fault_handler,     /* memory management */
    (void*)fault_handler,     /* bus fault */
    (void*)fault_handler,     /* usage fault */
    0,
    0,
    0,
    0,
    (void*)fault_handler, /* SVCall */
    (void*)fault_handler, /* debug monitor */
    0,
    (void*)fault_handler, /* PendSV */
    (void*)fault_handler, /* SysTick */
};
