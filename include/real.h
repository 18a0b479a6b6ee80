/* The floating-point type of all model math: float for training, double (-DCS_DOUBLE) for the
 * gradient checks. Everything that depends on the choice is named here. */
#ifndef CS_REAL_H
#define CS_REAL_H

#ifdef CS_DOUBLE
typedef double real;
#define CS_REAL_NAME "double"
#define CS_H5_REAL H5T_NATIVE_DOUBLE
#else
typedef float real;
#define CS_REAL_NAME "float"
#define CS_H5_REAL H5T_NATIVE_FLOAT
#endif

#endif
