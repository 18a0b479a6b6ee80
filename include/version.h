/* The program's version, in --version and in every results file. */
#ifndef CS_VERSION_H
#define CS_VERSION_H

#define COPYSWEEP_VERSION "0.2.0"

#endif
