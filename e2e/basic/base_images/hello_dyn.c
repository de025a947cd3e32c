// A dynamically linked program: it starts only if the loader finds libc.
#include <stdio.h>

int main(void) {
  printf("Hello from a dynamic binary!\n");
  return 0;
}
