"""Processor adapters behind one gateway interface."""
