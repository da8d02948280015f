-- codesight extension script, assembled from sql/ext/*.sql by the Makefile.
\echo Use "CREATE EXTENSION codesight" to load this file. \quit
