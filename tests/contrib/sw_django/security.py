from sw_layers import make_shield

shield = make_shield()
