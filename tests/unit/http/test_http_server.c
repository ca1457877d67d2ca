#include "vt_test.h"
static void t_x(void){}
VT_TEST_MAIN(VT_T(t_x))
