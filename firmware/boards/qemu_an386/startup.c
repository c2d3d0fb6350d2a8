/* Reset and fault handling for the mps2-an386 board layer.
 * The vector table only needs the entries the firmware can hit: no interrupts are used (the UART and
 * timer are polled), so every exception lands in one handler that reports and stops QEMU. */
#include <stdint.h>
#include <string.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_top;
extern void __libc_init_array(void);
extern int main(void);
void vww_semihost_exit(int code);
void vww_fault_report(const char* what);

/* Linked with -nostartfiles (no crt0/crti: this file is the startup), so newlib's __libc_init_array
 * finds no _init/_fini from crti.o; the .init_array walk it does besides is all C++ needs. */
void _init(void) {}
void _fini(void) {}

void vww_reset_handler(void) {
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
