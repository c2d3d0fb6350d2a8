// SparkFun Edge entry point: bring the board up, then hand over to the portable core.
#include "board.h"

int main() {
  vww::board::init();
  vww::app_main();
}
