"""Bluetooth LE heart-rate straps (the only package that imports bleak): scan, the beat source,
battery, and the strap profiles (devices/*.toml). Import the submodule you need: importing this
package loads nothing heavy."""
