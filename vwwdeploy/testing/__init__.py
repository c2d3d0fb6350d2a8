"""Test doubles shared by the tests and the benchmarks: simulated bootloaders, fake firmware images, tiny
models, a scripted classifier. Product code never imports from here."""
