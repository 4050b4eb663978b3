"""critmin.market"""
