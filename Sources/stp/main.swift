import STPEngine
print("stp")
