"""critmin.scenarios"""
