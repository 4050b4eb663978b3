"""critmin.trace"""
