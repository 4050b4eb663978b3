"""critmin.contracts"""
