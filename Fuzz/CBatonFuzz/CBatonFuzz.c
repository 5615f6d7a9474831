#include "CBatonFuzz.h"
