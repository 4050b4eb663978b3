"""critmin.reports"""
