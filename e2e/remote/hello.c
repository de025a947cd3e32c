#include <stdio.h>

int main(void) {
  printf("Hello from rules_img!\n");
  return 0;
}
